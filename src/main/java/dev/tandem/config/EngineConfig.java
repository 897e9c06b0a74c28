package dev.tandem.config;

import java.util.Set;

/**
 * How the engine runs a model, validated here once; errors name the field (as spelled on the command line) and
 * the value.
 *
 * @param backend        compute backend: "vector" (Vector API, every core) or "scalar" (reference)
 * @param threads        compute threads, 0 = one per core
 * @param pageSize       tokens per KV page (≥ 1)
 * @param maxTotalTokens KV pool size in tokens, 0 = sized by the caller for the job at hand
 * @param quantization   how linear weights are held: "none" (as stored) or "int8" (weight-only, per output channel;
 *                       vector backend only)
 * @param kvCacheDtype   how the KV pool stores K and V: "auto"/"float32" (4 bytes) or "bf16"/"bfloat16" (half the
 *                       memory and the bytes a KV transfer moves; SGLang's {@code --kv-cache-dtype})
 */
public record EngineConfig(String backend, int threads, int pageSize, int maxTotalTokens, String quantization,
                           String kvCacheDtype) {
    public static final Set<String> BACKENDS = Set.of("vector", "scalar");
    public static final Set<String> QUANTIZATIONS = Set.of("none", "int8");
    public static final Set<String> KV_CACHE_DTYPES = Set.of("auto", "float32", "bf16", "bfloat16");

    public EngineConfig {
        if (!BACKENDS.contains(backend)) {
            throw new ConfigException("backend", backend, "one of " + BACKENDS);
        }
        if (threads < 0) {
            throw new ConfigException("threads", threads, ">= 0 (0 = one per core)");
        }
        if (pageSize < 1 || pageSize > 4096) {
            throw new ConfigException("page-size", pageSize, "in [1, 4096]");
        }
        if (maxTotalTokens < 0) {
            throw new ConfigException("max-total-tokens", maxTotalTokens, ">= 0");
        }
        if (!QUANTIZATIONS.contains(quantization)) {
            throw new ConfigException("quantization", quantization, "one of " + QUANTIZATIONS);
        }
        if (!quantization.equals("none") && !backend.equals("vector")) {
            throw new ConfigException("quantization", quantization, "the vector backend (backend is " + backend + ")");
        }
        if (kvCacheDtype == null || !KV_CACHE_DTYPES.contains(kvCacheDtype)) {
            throw new ConfigException("kv-cache-dtype", kvCacheDtype,
                    "one of " + new java.util.TreeSet<>(KV_CACHE_DTYPES));
        }
    }

    /** K/V stored as computed (float32). */
    public EngineConfig(String backend, int threads, int pageSize, int maxTotalTokens, String quantization) {
        this(backend, threads, pageSize, maxTotalTokens, quantization, "auto");
    }

    /** Weights as stored. */
    public EngineConfig(String backend, int threads, int pageSize, int maxTotalTokens) {
        this(backend, threads, pageSize, maxTotalTokens, "none");
    }

    public static EngineConfig defaults() {
        return new EngineConfig("vector", 0, 16, 0);
    }
}
