package dev.tandem.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HiCache flags: SGLang's names and defaults, enums once parsed, and errors that name the flag and value. */
class HiCacheConfigTest {
    private static HiCacheConfig parse(String... argv) {
        return HiCacheConfig.from(Map.of(), Args.parse(argv, Set.of("enable-hierarchical-cache")));
    }

    private static String error(String... argv) {
        return assertThrows(ConfigException.class, () -> parse(argv)).getMessage();
    }

    @Test
    void defaultsAreSglangsAndFlagsParseToEnums() {
        HiCacheConfig off = parse();
        assertFalse(off.enabled());
        assertEquals(2.0, off.ratio());
        assertEquals(HiCacheConfig.WritePolicy.WRITE_THROUGH, off.writePolicy());
        assertEquals(HiCacheConfig.PrefetchPolicy.BEST_EFFORT, off.prefetchPolicy());
        assertEquals(HiCacheConfig.StorageBackend.NONE, off.storageBackend());
        HiCacheConfig on = parse("--enable-hierarchical-cache", "--hicache-write-policy", "write_back",
                "--hicache-storage-backend", "file", "--hicache-storage-dir", "d",
                "--hicache-storage-prefetch-policy", "timeout", "--hicache-size", "0.001");
        assertTrue(on.enabled());
        assertEquals(HiCacheConfig.WritePolicy.WRITE_BACK, on.writePolicy());
        assertEquals(HiCacheConfig.PrefetchPolicy.TIMEOUT, on.prefetchPolicy());
        assertEquals(Path.of("d"), on.storageDir());
        assertEquals(1_000_000 / 4096, on.hostPages(10, 4096), "--hicache-size overrides the ratio");
        assertEquals(20, parse("--enable-hierarchical-cache").hostPages(10, 4096), "2 x the pool");
        HiCacheConfig json = HiCacheConfig.from(Map.of("enable_hierarchical_cache", true, "hicache_ratio", 3),
                null);
        assertEquals(30, json.hostPages(10, 4096));
        assertTrue(on.storageFsync(), "file pages are fsynced unless asked not to");
        assertFalse(HiCacheConfig.from(Map.of(), Args.parse(new String[] {"--hicache-storage-no-fsync"},
                Set.of("hicache-storage-no-fsync"))).storageFsync());
        assertFalse(HiCacheConfig.from(Map.of("hicache_storage_no_fsync", true), null).storageFsync());
        assertTrue(assertThrows(ConfigException.class, () -> HiCacheConfig.from(
                Map.of("hicache_storage_no_fsync", "yes"), null)).getMessage().contains("hicache_storage_no_fsync"));
    }

    private static String workerError(String... flags) {
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("--model",
                dev.tandem.TestModels.tiny().toString()));
        argv.addAll(java.util.List.of(flags));
        return assertThrows(ConfigException.class, () -> WorkerConfig.from(Map.of(), Args.parse(
                argv.toArray(String[]::new), Set.of("enable-hierarchical-cache", "disable-radix-cache", "cluster",
                        "disaggregation-decode-enable-offload-kvcache"))))
                .getMessage();
    }

    @Test
    void theWorkerRefusesCombinationsItCannotServe() {
        assertTrue(workerError("--enable-hierarchical-cache", "--mode", "decode")
                .contains("enable_hierarchical_cache"));
        assertTrue(workerError("--enable-hierarchical-cache", "--disable-radix-cache")
                .contains("disable_radix_cache"));
        assertTrue(workerError("--enable-hierarchical-cache", "--hicache-storage-backend", "cluster")
                .contains("--cluster"));
        assertTrue(workerError("--enable-hierarchical-cache", "--hicache-storage-backup-count", "9")
                .contains("hicache_storage_backup_count"));
        assertTrue(workerError("--mode", "decode", "--enable-hierarchical-cache",
                "--disaggregation-decode-enable-offload-kvcache").contains("--hicache-storage-backend"));
        assertTrue(workerError("--enable-hierarchical-cache", "--hicache-storage-backend", "file",
                "--hicache-storage-dir", "d", "--disaggregation-decode-enable-offload-kvcache")
                .contains("--mode decode"));
    }

    @Test
    void badValuesNameTheFlag() {
        assertTrue(error("--hicache-write-policy", "write_sometimes").contains("hicache_write_policy"));
        assertTrue(error("--hicache-write-policy", "write_sometimes").contains("write_through_selective"));
        assertTrue(error("--hicache-ratio", "0").contains("hicache_ratio"));
        assertTrue(error("--hicache-ratio", "x").contains("--hicache-ratio"));
        assertTrue(error("--hicache-storage-prefetch-policy", "eager").contains("hicache_storage_prefetch_policy"));
        assertTrue(error("--enable-hierarchical-cache", "--hicache-storage-backend", "file")
                .contains("--hicache-storage-dir"));
        assertTrue(error("--hicache-storage-backend", "file", "--hicache-storage-dir", "d")
                .contains("--enable-hierarchical-cache"));
        assertTrue(error("--hicache-storage-backend", "nixl").contains("hicache_storage_backend"));
        assertTrue(error("--hicache-storage-prefetch-timeout", "0").contains("hicache_storage_prefetch_timeout"));
        assertTrue(error("--hicache-storage-max-size", "-1").contains("hicache_storage_max_size"));
        assertTrue(assertThrows(ConfigException.class, () -> parse("--enable-hierarchical-cache", "--hicache-size",
                "1e-9").hostPages(10, 4096)).getMessage().contains("hicache_size"));
    }
}
