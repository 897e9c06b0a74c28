package dev.tandem.config;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The hierarchical prefix cache (SGLang's HiCache flags): L2 host memory behind the KV pool and an optional L3
 * storage shared by workers. Read once by {@link #from}; errors name the flag.
 *
 * @param enabled            {@code --enable-hierarchical-cache}
 * @param ratio              {@code --hicache-ratio}: host pages per KV pool page (SGLang's default 2.0)
 * @param sizeGb             {@code --hicache-size}: host memory in GB; overrides the ratio when > 0
 * @param writePolicy        {@code --hicache-write-policy}
 * @param storageBackend     {@code --hicache-storage-backend}: {@code none} (L2 only) or {@code file}
 * @param storageDir         {@code --hicache-storage-dir}: the {@code file} backend's directory (workers sharing it
 *                           share their pages)
 * @param storageMaxGb       {@code --hicache-storage-max-size}: bound on the directory's pages in GB (Tandem's)
 * @param prefetchPolicy     {@code --hicache-storage-prefetch-policy}
 * @param prefetchTimeoutS   {@code --hicache-storage-prefetch-timeout}: how long a request waits for its L3
 *                           prefetch under the {@code timeout} policy (Tandem's; SGLang's is in its extra config)
 * @param backupCount        {@code --hicache-storage-backup-count}: copies of each page on other members for the
 *                           {@code cluster} backend (Tandem's)
 * @param decodeOffload      {@code --disaggregation-decode-enable-offload-kvcache}: a decode worker writes each
 *                           finished request's KV (prompt and output) to storage, so the next turn's prefill loads
 *                           it instead of computing it
 * @param storageFsync       false with {@code --hicache-storage-no-fsync}: the {@code file} backend skips fsync of
 *                           each page file and of the directory (Tandem's; a page lost in a crash is a miss)
 */
public record HiCacheConfig(boolean enabled, double ratio, double sizeGb, WritePolicy writePolicy,
                            StorageBackend storageBackend, Path storageDir, double storageMaxGb,
                            PrefetchPolicy prefetchPolicy, double prefetchTimeoutS, int backupCount,
                            boolean decodeOffload, boolean storageFsync) {
    /** Config-file keys this record reads (snake_case). */
    public static final Set<String> KEYS = Set.of("enable_hierarchical_cache", "hicache_ratio", "hicache_size",
            "hicache_write_policy", "hicache_storage_backend", "hicache_storage_dir", "hicache_storage_max_size",
            "hicache_storage_prefetch_policy", "hicache_storage_prefetch_timeout", "hicache_storage_backup_count",
            "disaggregation_decode_enable_offload_kvcache", "hicache_storage_no_fsync");

    public static final HiCacheConfig OFF = new HiCacheConfig(false, 2.0, 0, WritePolicy.WRITE_THROUGH,
            StorageBackend.NONE, null, 10, PrefetchPolicy.BEST_EFFORT, 1.0, 1, false, true);

    /** When a page cached in the KV pool is copied to host memory (and from there to storage). */
    public enum WritePolicy {
        /** as soon as the pool caches it */
        WRITE_THROUGH,
        /** only when the pool evicts it */
        WRITE_BACK,
        /** as soon as a later request reuses it (SGLang writes through hot prefixes only) */
        WRITE_THROUGH_SELECTIVE
    }

    /** How long a request waits for pages its L3 prefetch is still reading. */
    public enum PrefetchPolicy {
        /** not at all: it takes what has arrived */
        BEST_EFFORT,
        /** until the prefetch is done */
        WAIT_COMPLETE,
        /** until the prefetch is done or {@code prefetchTimeoutS} passed */
        TIMEOUT
    }

    public enum StorageBackend {
        NONE,
        /** one file per page under {@code storageDir} */
        FILE,
        /** a distributed map on the worker's Hazelcast cluster (needs {@code --cluster}) */
        CLUSTER
    }

    /** Without the fsync choice: file pages are fsynced. */
    public HiCacheConfig(boolean enabled, double ratio, double sizeGb, WritePolicy writePolicy,
                         StorageBackend storageBackend, Path storageDir, double storageMaxGb,
                         PrefetchPolicy prefetchPolicy, double prefetchTimeoutS, int backupCount,
                         boolean decodeOffload) {
        this(enabled, ratio, sizeGb, writePolicy, storageBackend, storageDir, storageMaxGb, prefetchPolicy,
                prefetchTimeoutS, backupCount, decodeOffload, true);
    }

    public HiCacheConfig {
        if (!(ratio > 0) || Double.isInfinite(ratio)) {
            throw new ConfigException("hicache_ratio", ratio, "> 0");
        }
        if (!(sizeGb >= 0) || Double.isInfinite(sizeGb)) {
            throw new ConfigException("hicache_size", sizeGb, ">= 0 GB (0: use hicache_ratio)");
        }
        if (!(storageMaxGb > 0) || Double.isInfinite(storageMaxGb)) {
            throw new ConfigException("hicache_storage_max_size", storageMaxGb, "> 0 GB");
        }
        if (!(prefetchTimeoutS > 0) || prefetchTimeoutS > 600) {
            throw new ConfigException("hicache_storage_prefetch_timeout", prefetchTimeoutS, "in (0, 600] seconds");
        }
        if (backupCount < 0 || backupCount > 6) {
            throw new ConfigException("hicache_storage_backup_count", backupCount, "in [0, 6] (Hazelcast's limit)");
        }
        if (storageBackend == StorageBackend.FILE && storageDir == null) {
            throw new ConfigException("missing hicache_storage_dir (--hicache-storage-dir DIR): the file storage "
                    + "backend needs a directory");
        }
        if (decodeOffload && (!enabled || storageBackend == StorageBackend.NONE)) {
            throw new ConfigException("disaggregation_decode_enable_offload_kvcache", true, "false unless "
                    + "--enable-hierarchical-cache and a --hicache-storage-backend are set (the KV goes to storage)");
        }
        if (storageBackend != StorageBackend.NONE && !enabled) {
            throw new ConfigException("hicache_storage_backend", storageBackend.name().toLowerCase(Locale.ROOT),
                    "none unless --enable-hierarchical-cache is set");
        }
    }

    /** Host pages for a KV pool of {@code poolPages} pages of {@code pageBytes} bytes each (all layers, K and V). */
    public int hostPages(int poolPages, long pageBytes) {
        long pages = sizeGb > 0 ? (long) (sizeGb * 1e9 / pageBytes) : (long) Math.ceil(ratio * poolPages);
        if (pages < 1 || pages > Integer.MAX_VALUE) {
            throw new ConfigException(sizeGb > 0 ? "hicache_size" : "hicache_ratio", sizeGb > 0 ? sizeGb : ratio,
                    "a host region of 1 to " + Integer.MAX_VALUE + " pages of " + pageBytes + " bytes (got "
                            + pages + ")");
        }
        return (int) pages;
    }

    /** Bytes the storage may hold. */
    public long storageMaxBytes() {
        return (long) (storageMaxGb * 1e9);
    }

    /** Reads the fields from a JSON config ({@code json}, may be empty) with flags on top. */
    public static HiCacheConfig from(Map<String, Object> json, Args cli) {
        ConfigValues v = new ConfigValues(json, cli);
        String dir = v.string("hicache_storage_dir", "hicache-storage-dir", null);
        return new HiCacheConfig(v.bool("enable_hierarchical_cache", "enable-hierarchical-cache", false),
                v.number("hicache_ratio", "hicache-ratio", OFF.ratio),
                v.number("hicache_size", "hicache-size", OFF.sizeGb),
                choice(WritePolicy.class, "hicache_write_policy",
                        v.string("hicache_write_policy", "hicache-write-policy", "write_through")),
                choice(StorageBackend.class, "hicache_storage_backend",
                        v.string("hicache_storage_backend", "hicache-storage-backend", "none")),
                dir == null ? null : Path.of(dir),
                v.number("hicache_storage_max_size", "hicache-storage-max-size", OFF.storageMaxGb),
                choice(PrefetchPolicy.class, "hicache_storage_prefetch_policy",
                        v.string("hicache_storage_prefetch_policy", "hicache-storage-prefetch-policy", "best_effort")),
                v.number("hicache_storage_prefetch_timeout", "hicache-storage-prefetch-timeout", OFF.prefetchTimeoutS),
                v.integer("hicache_storage_backup_count", "hicache-storage-backup-count", OFF.backupCount),
                v.bool("disaggregation_decode_enable_offload_kvcache", "disaggregation-decode-enable-offload-kvcache",
                        false),
                !v.bool("hicache_storage_no_fsync", "hicache-storage-no-fsync", false));
    }

    private static <E extends Enum<E>> E choice(Class<E> type, String field, String value) {
        for (E e : type.getEnumConstants()) {
            if (e.name().toLowerCase(Locale.ROOT).equals(value)) {
                return e;
            }
        }
        StringBuilder allowed = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            allowed.append(allowed.isEmpty() ? "" : ", ").append(e.name().toLowerCase(Locale.ROOT));
        }
        throw new ConfigException(field, value, "one of " + allowed);
    }
}
