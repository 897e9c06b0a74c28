package dev.tandem.config;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --kv-cache-dtype} / {@code kv_cache_dtype}: defaulted to auto, SGLang's spellings taken, others refused. */
class KvCacheDtypeConfigTest {

    private static WorkerConfig worker(Map<String, Object> json, String... argv) {
        return WorkerConfig.from(json, Args.parse(argv, Set.of()));
    }

    @Test
    void defaultsToAutoAndTakesBf16FromTheFlagOrTheConfig() {
        // Parsed once, here: "auto" is float32 (the engine computes K/V in float32), bfloat16 is bf16.
        assertEquals(KvDtype.FLOAT32, worker(Map.of(), "--model", "src").engine().kvCacheDtype());
        assertEquals(KvDtype.BFLOAT16, worker(Map.of(), "--model", "src", "--kv-cache-dtype", "bf16").engine()
                .kvCacheDtype());
        assertEquals(KvDtype.BFLOAT16, worker(Map.of("kv_cache_dtype", "bfloat16"), "--model", "src").engine()
                .kvCacheDtype());
        assertEquals(KvDtype.FLOAT32, Args.parse(new String[] {"--kv-cache-dtype", "float32"}, Set.of()).engine(0)
                .kvCacheDtype());
        assertEquals(KvDtype.BFLOAT16, Args.parse(new String[] {"--kv-cache-dtype", "bf16"}, Set.of())
                .kvCacheDtype());
    }

    @Test
    void anUnknownDtypeIsRefusedNamingTheFlag() {
        for (ConfigException bad : new ConfigException[] {
                assertThrows(ConfigException.class, () -> worker(Map.of(), "--model", "src", "--kv-cache-dtype",
                        "fp8_e5m2")),
                assertThrows(ConfigException.class, () -> Args.parse(new String[] {"--kv-cache-dtype", "fp8_e5m2"},
                        Set.of()).engine(0)),
                assertThrows(ConfigException.class, () -> Args.parse(new String[] {"--kv-cache-dtype", "fp8_e5m2"},
                        Set.of()).kvCacheDtype())}) {
            assertTrue(bad.getMessage().contains("kv-cache-dtype") && bad.getMessage().contains("fp8_e5m2")
                    && bad.getMessage().contains("bf16"), bad.getMessage());
        }
    }
}
