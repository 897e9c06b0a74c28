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
 */
public record EngineConfig(String backend, int threads, int pageSize, int maxTotalTokens) {
    public static final Set<String> BACKENDS = Set.of("vector", "scalar");

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
    }

    public static EngineConfig defaults() {
        return new EngineConfig("vector", 0, 16, 0);
    }
}
