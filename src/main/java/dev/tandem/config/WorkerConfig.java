package dev.tandem.config;

import dev.tandem.kvevents.KvEventsConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Everything a worker needs, read once from a JSON config ({@code conf/worker.json}, snake_case keys) with
 * command-line flags (kebab-case) on top, and validated here. Errors name the field and the value.
 *
 * @param mode            "null" (colocated); "prefill" and "decode" arrive with disaggregation
 * @param contextLength   0 = the model's max_position_embeddings
 * @param radixCache      reuse cached prompt prefixes (colocated and prefill workers; SGLang's
 *                        {@code --disable-radix-cache} turns it off; decode workers never keep one)
 * @param kvEvents        where the prefix cache's events go (SGLang's {@code --kv-events-config} JSON)
 * @param security        API keys, open routes, the cluster secret, event-bus TLS
 * @param limits          bounds on one request (body, batch × n, stop strings, slow SSE readers)
 * @param advertisedHost  the address others reach this worker at: {@code --advertise-host}, else {@code host}, or
 *                        for a wildcard {@code host} (0.0.0.0) a detected one; every id and address built from the
 *                        host (worker id, bootstrap address, transfer endpoint, announced URL) uses it
 * @param hiCache         the hierarchical prefix cache behind the KV pool (colocated and prefill workers)
 * @param toolCallParser  how the model writes tool calls ({@code --tool-call-parser}), or null: chat requests with
 *                        {@code tools} are then refused
 * @param metricsNames    {@code --metrics-names}: Tandem's meter names, or SGLang's Prometheus names beside them
 * @param serverWarmup    run the engine's hot paths before reporting ready (SGLang's {@code --skip-server-warmup}
 *                        turns it off): a cold JVM runs its first requests interpreted, seconds slower
 */
public record WorkerConfig(String mode, Path modelPath, String host, int port, String servedModelName,
                           EngineConfig engine, int maxTotalTokens, int maxRunningRequests, int chunkedPrefillSize,
                           int contextLength, PdConfig pd, boolean radixCache, KvEventsConfig kvEvents,
                           SecurityConfig security, InputLimits limits, String advertisedHost,
                           HiCacheConfig hiCache, ToolCallParser toolCallParser, MetricsNames metricsNames,
                           boolean serverWarmup) {
    /** Without the tool-call parser, metrics names and warm-up choice (none; Tandem's names; warm up). */
    public WorkerConfig(String mode, Path modelPath, String host, int port, String servedModelName,
                        EngineConfig engine, int maxTotalTokens, int maxRunningRequests, int chunkedPrefillSize,
                        int contextLength, PdConfig pd, boolean radixCache, KvEventsConfig kvEvents,
                        SecurityConfig security, InputLimits limits, String advertisedHost, HiCacheConfig hiCache) {
        this(mode, modelPath, host, port, servedModelName, engine, maxTotalTokens, maxRunningRequests,
                chunkedPrefillSize, contextLength, pd, radixCache, kvEvents, security, limits, advertisedHost, hiCache,
                null, MetricsNames.TANDEM, true);
    }

    public static final Set<String> MODES = Set.of("null", "prefill", "decode");
    private static final Set<String> KEYS = Set.of("mode", "model_path", "host", "port", "served_model_name",
            "backend", "threads", "page_size", "max_total_tokens", "max_running_requests", "chunked_prefill_size",
            "context_length", "bootstrap_port", "transfer_backend", "transfer_transport", "nixl_mode",
            "num_reserved_decode_tokens", "bootstrap_timeout", "waiting_timeout", "heartbeat_interval",
            "heartbeat_max_failures", "failure_prob", "transfer_io_timeout", "worker_id", "cluster", "gateway_url",
            "disable_radix_cache", "kv_events_config", "advertise_host", "quantization", "tool_call_parser",
            "metrics_names", "kv_cache_dtype", "skip_server_warmup");
    private static final Set<String> ALL_KEYS = union(KEYS, SecurityConfig.KEYS, InputLimits.KEYS,
            HiCacheConfig.KEYS);

    @SafeVarargs
    private static Set<String> union(Set<String>... sets) {
        Set<String> all = new java.util.TreeSet<>();
        for (Set<String> s : sets) {
            all.addAll(s);
        }
        return Set.copyOf(all);
    }

    /**
     * Prefill/decode settings (SGLang's names and defaults).
     *
     * @param transferBackend   "mooncake" (shm/tcp transfer engine), "nixl" (over UCX) or "fake" (no transfer)
     * @param transferTransport "auto" (shm on one host, else tcp), "shm" or "tcp"
     * @param failureProb       chance that a transfer poll reports FAILED (tests; SGLang's
     *                          DISAGGREGATION_TEST_FAILURE_PROB)
     * @param workerId          this worker's name on the event bus
     * @param cluster           join the Hazelcast cluster (workers in other JVMs)
     * @param gatewayUrl        a gateway to {@code POST /register} with once ready (SGLang's --pdlb-url), or null
     * @param transferIoTimeoutS {@code --transfer-io-timeout}: the most a KV write or its acknowledgement may stall
     *                          on a peer (TCP) before the room fails
     * @param nixlMode          nixl only: "push" (the prefill writes, SGLang's choreography) or "pull" (the decode
     *                          reads once told the pages are ready, vLLM's); the prefill's setting decides
     */
    public record PdConfig(int bootstrapPort, String transferBackend, String transferTransport,
                           int numReservedDecodeTokens, double bootstrapTimeoutS, double waitingTimeoutS,
                           double heartbeatIntervalS, int heartbeatMaxFailures, double failureProb, String workerId,
                           boolean cluster, String gatewayUrl, double transferIoTimeoutS, String nixlMode) {
        public PdConfig {
            if (!Set.of("push", "pull").contains(nixlMode)) {
                throw new ConfigException("nixl_mode", nixlMode, "push or pull");
            }
            if (bootstrapPort < 1 || bootstrapPort > 65535) {
                throw new ConfigException("bootstrap_port", bootstrapPort, "in [1, 65535]");
            }
            if (!Set.of("mooncake", "nixl", "fake").contains(transferBackend)) {
                throw new ConfigException("transfer_backend", transferBackend, "mooncake, nixl or fake");
            }
            if (!Set.of("auto", "shm", "tcp").contains(transferTransport)) {
                throw new ConfigException("transfer_transport", transferTransport, "auto, shm or tcp");
            }
            if (numReservedDecodeTokens < 0) {
                throw new ConfigException("num_reserved_decode_tokens", numReservedDecodeTokens, ">= 0");
            }
            if (bootstrapTimeoutS <= 0 || waitingTimeoutS <= 0) {
                throw new ConfigException("bootstrap_timeout/waiting_timeout", bootstrapTimeoutS + "/" + waitingTimeoutS,
                        "> 0 seconds");
            }
            if (heartbeatIntervalS < 0.1) {
                throw new ConfigException("heartbeat_interval", heartbeatIntervalS, ">= 0.1 seconds");
            }
            if (heartbeatMaxFailures < 1) {
                throw new ConfigException("heartbeat_max_failures", heartbeatMaxFailures, ">= 1");
            }
            if (failureProb < 0 || failureProb > 1) {
                throw new ConfigException("failure_prob", failureProb, "in [0, 1]");
            }
            if (!(transferIoTimeoutS >= 0.1) || transferIoTimeoutS > 3600) {
                throw new ConfigException("transfer_io_timeout", transferIoTimeoutS, "0.1 to 3600 seconds");
            }
        }
    }

    public WorkerConfig {
        if (!MODES.contains(mode)) {
            throw new ConfigException("mode", mode, "null, prefill or decode");
        }
        if (modelPath == null) {
            throw new ConfigException("missing model_path (--model DIR)");
        }
        if (!Files.isDirectory(modelPath)) {
            throw new ConfigException("model_path", modelPath, "an existing model directory");
        }
        if (port < 0 || port > 65535) {
            throw new ConfigException("port", port, "in [0, 65535]");
        }
        if (maxTotalTokens < engine.pageSize()) {
            throw new ConfigException("max_total_tokens", maxTotalTokens, ">= page_size " + engine.pageSize());
        }
        if (maxRunningRequests < 1) {
            throw new ConfigException("max_running_requests", maxRunningRequests, ">= 1");
        }
        if (chunkedPrefillSize == 0 || chunkedPrefillSize < -1) {
            throw new ConfigException("chunked_prefill_size", chunkedPrefillSize, "-1 (off) or >= 1");
        }
        if (contextLength < 0) {
            throw new ConfigException("context_length", contextLength, ">= 0 (0 = the model's)");
        }
        if (security == null || limits == null) {
            throw new ConfigException("missing security or limits settings");
        }
        if (advertisedHost == null || HostAddress.wildcard(advertisedHost)) {
            throw new ConfigException("advertise_host", advertisedHost, "a routable address");
        }
        if (hiCache == null) {
            throw new ConfigException("missing hicache settings");
        }
        if (hiCache.enabled() && mode.equals("decode") && !hiCache.decodeOffload()) {
            throw new ConfigException("enable_hierarchical_cache", true, "false on a decode worker unless "
                    + "--disaggregation-decode-enable-offload-kvcache (it keeps no prefix cache of its own)");
        }
        if (hiCache.decodeOffload() && !mode.equals("decode")) {
            throw new ConfigException("disaggregation_decode_enable_offload_kvcache", true, "false except on a "
                    + "decode worker (--mode decode)");
        }
        if (hiCache.storageBackend() == HiCacheConfig.StorageBackend.CLUSTER && !pd.cluster()) {
            throw new ConfigException("hicache_storage_backend", "cluster", "a clustered worker (--cluster): the "
                    + "pages live in the Hazelcast cluster's distributed map");
        }
        if (hiCache.enabled() && !radixCache && !mode.equals("decode")) {
            throw new ConfigException("enable_hierarchical_cache", true, "false together with "
                    + "disable_radix_cache (the tiers extend the radix cache)");
        }
    }

    /** {@code json} (may be empty) with {@code cli} flags overriding it. */
    public static WorkerConfig from(Map<String, Object> json, Args cli) {
        Map<String, Object> m = new LinkedHashMap<>(json);
        for (String k : m.keySet()) {
            if (!ALL_KEYS.contains(k)) {
                throw new ConfigException("unknown config key '" + k + "' (known: " + new java.util.TreeSet<>(ALL_KEYS)
                        + ")");
            }
        }
        ConfigValues v = new ConfigValues(m, cli);
        String model = v.string("model_path", "model", null);
        return new WorkerConfig(v.string("mode", "mode", "null"), model == null ? null : Path.of(model),
                v.string("host", "host", "127.0.0.1"), v.integer("port", "port", 30000),
                v.string("served_model_name", "served-model-name", null),
                EngineConfig.parse(v.string("backend", "backend", "vector"), v.integer("threads", "threads", 0),
                        v.integer("page_size", "page-size", 16), 0, v.string("quantization", "quantization", "none"),
                        v.string("kv_cache_dtype", "kv-cache-dtype", "auto")),
                v.integer("max_total_tokens", "max-total-tokens", 8192),
                v.integer("max_running_requests", "max-running-requests", 32),
                v.integer("chunked_prefill_size", "chunked-prefill-size", 512),
                v.integer("context_length", "context-length", 0), pd(v),
                !v.bool("disable_radix_cache", "disable-radix-cache", false), kvEvents(v),
                SecurityConfig.from(m, cli), InputLimits.from(m, cli), advertised(v), HiCacheConfig.from(m, cli),
                ToolCallParser.parse(v.string("tool_call_parser", "tool-call-parser", null)),
                MetricsNames.parse(v.string("metrics_names", "metrics-names", "tandem")),
                !v.bool("skip_server_warmup", "skip-server-warmup", false));
    }

    /** {@code kv_events_config}: a JSON object in the config file, or its text (the flag, as SGLang's). */
    private static KvEventsConfig kvEvents(ConfigValues v) {
        Object o = v.cli() != null && v.cli().has("kv-events-config") ? v.cli().string("kv-events-config", null)
                : v.json().get("kv_events_config");
        String json;
        try {
            json = o == null ? null : o instanceof String str ? str
                    : new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(o);
            KvEventsConfig k = KvEventsConfig.parse(json);
            if (k.bufferSteps() < 0 || k.hwm() < 0 || k.maxQueueSize() < 1) {
                throw new IllegalArgumentException("kv-events-config: buffer_steps and hwm must be >= 0 and "
                        + "max_queue_size >= 1, got " + k.bufferSteps() + ", " + k.hwm() + ", " + k.maxQueueSize());
            }
            return k;
        } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    private static PdConfig pd(ConfigValues v) {
        String envProb = System.getenv("DISAGGREGATION_TEST_FAILURE_PROB");
        return new PdConfig(v.integer("bootstrap_port", "bootstrap-port", 8998),
                v.string("transfer_backend", "transfer-backend", "mooncake"),
                v.string("transfer_transport", "transfer-transport", "auto"),
                v.integer("num_reserved_decode_tokens", "num-reserved-decode-tokens", 512),
                v.number("bootstrap_timeout", "bootstrap-timeout", 300),
                v.number("waiting_timeout", "waiting-timeout", 300),
                v.number("heartbeat_interval", "heartbeat-interval", 5),
                v.integer("heartbeat_max_failures", "heartbeat-max-failures", 2),
                v.number("failure_prob", "failure-prob", envProb == null ? 0 : Double.parseDouble(envProb)),
                v.string("worker_id", "worker-id", defaultWorkerId(v)), v.bool("cluster", "cluster", false),
                v.string("gateway_url", "gateway-url", null),
                v.number("transfer_io_timeout", "transfer-io-timeout", 30), v.string("nixl_mode", "nixl-mode", "push"));
    }

    /** This worker's name on the event bus: the configured id, else {@code advertisedHost:port}. */
    public String workerId() {
        return pd.workerId() != null ? pd.workerId() : advertisedHost + ":" + port;
    }

    private static String advertised(ConfigValues v) {
        return HostAddress.advertised(v.string("host", "host", "127.0.0.1"),
                v.string("advertise_host", "advertise-host", null), "advertise_host");
    }

    /**
     * {@code advertisedHost:port}, unique per process and port; with port 0 (picked at bind time) a random suffix
     * instead.
     */
    private static String defaultWorkerId(ConfigValues v) {
        String host = advertised(v);
        int port = v.integer("port", "port", 30000);
        return port != 0 ? host + ":" + port
                : host + ":auto-" + java.util.UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * What computed this worker's KV, for the HiCache storage keys: the model name plus how its weights are held
     * ({@code --quantization int8} gives other K/V than the weights as stored, so the two must never share pages;
     * the KV element size is in the keys already).
     */
    public String kvIdentity() {
        Quantization q = engine().quantization();
        return q == Quantization.NONE ? modelName() : modelName() + "-w" + q.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The name clients use in {@code model}: the configured one, else the model directory's name. */
    public String modelName() {
        return servedModelName != null ? servedModelName : modelPath.getFileName().toString();
    }

}
