package dev.tandem.config;

/**
 * How the engine runs a model, validated here once; errors name the field (as spelled on the command line) and
 * the value.
 *
 * @param backend        compute backend: vector (Vector API, every core) or scalar (reference)
 * @param threads        compute threads, 0 = one per core
 * @param pageSize       tokens per KV page (≥ 1)
 * @param maxTotalTokens KV pool size in tokens, 0 = sized by the caller for the job at hand
 * @param quantization   how linear weights are held (weight-only int8 needs the vector backend)
 * @param kvCacheDtype   how the KV pool stores K and V (bf16: half the memory and the bytes a KV transfer moves;
 *                       SGLang's {@code --kv-cache-dtype})
 */
public record EngineConfig(ComputeBackendKind backend, int threads, int pageSize, int maxTotalTokens,
                           Quantization quantization, KvDtype kvCacheDtype) {
    public EngineConfig {
        if (backend == null) {
            throw new IllegalArgumentException("backend is required");
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
        if (quantization == null || kvCacheDtype == null) {
            throw new IllegalArgumentException("quantization and kvCacheDtype are required");
        }
        if (quantization != Quantization.NONE && backend != ComputeBackendKind.VECTOR) {
            throw new ConfigException("quantization", quantization.name().toLowerCase(java.util.Locale.ROOT),
                    "the vector backend (backend is " + backend.label() + ")");
        }
    }

    /** As spelled on the command line or in a config file: each value parsed once here, errors naming the field. */
    public static EngineConfig parse(String backend, int threads, int pageSize, int maxTotalTokens, String quantization,
                                     String kvCacheDtype) {
        return new EngineConfig(backend(backend), threads, pageSize, maxTotalTokens, quantization(quantization),
                kvCacheDtype(kvCacheDtype));
    }

    /** {@code --backend}, parsed; the error names the flag and the value. */
    public static ComputeBackendKind backend(String value) {
        try {
            return ComputeBackendKind.parse(String.valueOf(value));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("backend", value, "one of " + ComputeBackendKind.NAMES);
        }
    }

    /** {@code --quantization}, parsed; the error names the flag and the value. */
    public static Quantization quantization(String value) {
        try {
            return Quantization.parse(String.valueOf(value));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("quantization", value, "one of " + Quantization.NAMES);
        }
    }

    /** {@code --kv-cache-dtype}, parsed; the error names the flag and the value. */
    public static KvDtype kvCacheDtype(String value) {
        try {
            return KvDtype.parse(String.valueOf(value));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("kv-cache-dtype", value, "one of " + KvDtype.NAMES);
        }
    }

    /** K/V stored as computed (float32). */
    public EngineConfig(ComputeBackendKind backend, int threads, int pageSize, int maxTotalTokens,
                        Quantization quantization) {
        this(backend, threads, pageSize, maxTotalTokens, quantization, KvDtype.FLOAT32);
    }

    /** Weights as stored. */
    public EngineConfig(ComputeBackendKind backend, int threads, int pageSize, int maxTotalTokens) {
        this(backend, threads, pageSize, maxTotalTokens, Quantization.NONE);
    }

    public static EngineConfig defaults() {
        return new EngineConfig(ComputeBackendKind.VECTOR, 0, 16, 0);
    }
}
