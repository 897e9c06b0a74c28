package dev.tandem.config;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The gateway's settings, compatible with SGLang's {@code launch_lb} flags, validated here with errors naming the
 * flag and the value.
 *
 * @param prefillBootstrapPorts one per prefill URL (null entries: the decode worker's default), after broadcasting a
 *                              single value
 * @param timeoutS              per-request timeout (600 s)
 * @param healthIntervalS       seconds between health (and load) checks
 * @param healthFailures        consecutive failed checks that mark a worker unhealthy (a success marks it back)
 * @param cacheThreshold        cache_aware: the share of the prompt a worker must hold cached to win on cache
 * @param balanceAbsThreshold   cache_aware: loads are imbalanced when max - min exceeds this (requests) ...
 * @param balanceRelThreshold   ... and max exceeds min times this; then the least loaded worker wins
 * @param maxTreeSize           cache_aware: KV blocks (pages) the gateway indexes over all workers; past it the
 *                              least recently used are forgotten
 * @param tokenizerPath         a model directory with tokenizer.json (cache_aware tokenizes prompts as the workers
 *                              do); null when no policy needs it
 * @param security              API keys, open routes, the cluster secret, event-bus TLS
 * @param limits                bounds on one request (body, batch × n, stop strings)
 */
public record GatewayConfig(String host, int port, List<String> prefill, List<Integer> prefillBootstrapPorts,
                            List<String> decode, double timeoutS, String prefillPolicy, String decodePolicy,
                            double healthIntervalS, int healthFailures, boolean cluster, double cacheThreshold,
                            long balanceAbsThreshold, double balanceRelThreshold, int maxTreeSize,
                            Path tokenizerPath, SecurityConfig security, InputLimits limits) {
    public static final Set<String> POLICIES = Set.of("random", "round_robin", "power_of_two", "po2", "cache_aware");

    public GatewayConfig {
        prefill = List.copyOf(prefill);
        decode = List.copyOf(decode);
        prefillBootstrapPorts = java.util.Collections.unmodifiableList(new ArrayList<>(prefillBootstrapPorts));
        if (port < 0 || port > 65535) {
            throw new ConfigException("--port", port, "in [0, 65535]");
        }
        for (String u : prefill) {
            checkUrl("--prefill", u);
        }
        for (String u : decode) {
            checkUrl("--decode", u);
        }
        if (prefillBootstrapPorts.size() != prefill.size()) {
            throw new ConfigException("--prefill-bootstrap-ports", prefillBootstrapPorts,
                    "one port, or one per --prefill URL (" + prefill.size() + ")");
        }
        if (timeoutS <= 0) {
            throw new ConfigException("--timeout", timeoutS, "> 0 seconds");
        }
        for (String p : List.of(prefillPolicy, decodePolicy)) {
            if (!POLICIES.contains(p)) {
                throw new ConfigException("--policy", p, "one of random, round_robin, power_of_two, cache_aware");
            }
        }
        if (!(cacheThreshold >= 0 && cacheThreshold <= 1)) {
            throw new ConfigException("--cache-threshold", cacheThreshold, "in [0, 1]");
        }
        if (balanceAbsThreshold < 0) {
            throw new ConfigException("--balance-abs-threshold", balanceAbsThreshold, ">= 0 requests");
        }
        if (!(balanceRelThreshold >= 1)) {
            throw new ConfigException("--balance-rel-threshold", balanceRelThreshold, ">= 1");
        }
        if (maxTreeSize < 1) {
            throw new ConfigException("--max-tree-size", maxTreeSize, ">= 1 blocks");
        }
        if (tokenizerPath != null && !Files.isRegularFile(tokenizerPath.resolve("tokenizer.json"))) {
            throw new ConfigException("--tokenizer-path", tokenizerPath, "a model directory with tokenizer.json");
        }
        // The parameters, not cacheAware(): the fields are not assigned yet in a compact constructor.
        if ((prefillPolicy.equals("cache_aware") || decodePolicy.equals("cache_aware")) && tokenizerPath == null) {
            throw new ConfigException("missing --tokenizer-path (tokenizer_path): the cache_aware policy tokenizes "
                    + "prompts as the workers do, so it needs the model directory with tokenizer.json");
        }
        if (healthIntervalS < 0.05) {
            throw new ConfigException("--health-interval", healthIntervalS, ">= 0.05 seconds");
        }
        if (healthFailures < 1) {
            throw new ConfigException("--health-failures", healthFailures, ">= 1");
        }
        if (security == null || limits == null) {
            throw new ConfigException("missing security or limits settings");
        }
    }

    /** True when either pool routes by cache_aware (the gateway then tokenizes and listens to KV events). */
    public boolean cacheAware() {
        return prefillPolicy.equals("cache_aware") || decodePolicy.equals("cache_aware");
    }

    private static void checkUrl(String flag, String u) {
        try {
            URI uri = URI.create(u);
            if (uri.getHost() == null || uri.getScheme() == null) {
                throw new IllegalArgumentException();
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(flag, u, "an http URL like http://127.0.0.1:30001");
        }
    }

    /** From {@code launch_lb}-style flags. */
    public static GatewayConfig from(Args a) {
        return from(java.util.Map.of(), a);
    }

    private static final Set<String> KEYS = Set.of("host", "port", "prefill", "prefill_bootstrap_ports", "decode",
            "timeout", "policy", "prefill_policy", "decode_policy", "health_interval", "health_failures", "cluster",
            "cache_threshold", "balance_abs_threshold", "balance_rel_threshold", "max_tree_size", "tokenizer_path");
    private static final Set<String> ALL_KEYS;

    static {
        Set<String> all = new java.util.TreeSet<>(KEYS);
        all.addAll(SecurityConfig.KEYS);
        all.addAll(InputLimits.KEYS);
        ALL_KEYS = Set.copyOf(all);
    }

    /**
     * From a JSON config ({@code conf/gateway.json}: the flags' names in snake_case, lists for the URL flags) with
     * command-line flags on top.
     */
    public static GatewayConfig from(java.util.Map<String, Object> json, Args a) {
        for (String k : json.keySet()) {
            if (!ALL_KEYS.contains(k)) {
                throw new ConfigException("unknown config key '" + k + "' (known: " + new java.util.TreeSet<>(ALL_KEYS)
                        + ")");
            }
        }
        List<String> prefill = a.has("prefill") ? a.list("prefill") : strings(json, "prefill");
        List<Integer> ports = new ArrayList<>();
        List<String> given = a.has("prefill-bootstrap-ports") ? a.list("prefill-bootstrap-ports")
                : strings(json, "prefill_bootstrap_ports");
        if (!given.isEmpty()) {
            for (String g : given) {
                try {
                    ports.add(g.equals("none") || g.equals("null") ? null : Integer.valueOf(g));
                } catch (NumberFormatException e) {
                    throw new ConfigException("--prefill-bootstrap-ports", g, "port numbers (or none)");
                }
            }
            if (ports.size() == 1 && prefill.size() > 1) {
                Integer p = ports.get(0);
                ports.clear();
                prefill.forEach(u -> ports.add(p));
            }
        } else {
            prefill.forEach(u -> ports.add(null));
        }
        String policy = a.string("policy", str(json, "policy", "random"));
        // sgl-router's flag is --tokenizer-path; --model-path is accepted as it is on SGLang's servers.
        String tokenizer = a.string("tokenizer-path", a.string("model-path", str(json, "tokenizer_path", null)));
        return new GatewayConfig(a.string("host", str(json, "host", "127.0.0.1")),
                a.integer("port", num(json, "port", 8000).intValue()), prefill, ports,
                a.has("decode") ? a.list("decode") : strings(json, "decode"),
                a.number("timeout", num(json, "timeout", 600).floatValue()),
                a.string("prefill-policy", str(json, "prefill_policy", policy)),
                a.string("decode-policy", str(json, "decode_policy", policy)),
                a.number("health-interval", num(json, "health_interval", 5).floatValue()),
                a.integer("health-failures", num(json, "health_failures", 3).intValue()),
                a.flag("cluster") || Boolean.TRUE.equals(json.get("cluster")),
                real(a, "cache-threshold", json, "cache_threshold", 0.3),
                a.longValue("balance-abs-threshold", num(json, "balance_abs_threshold", 64).longValue()),
                real(a, "balance-rel-threshold", json, "balance_rel_threshold", 1.5),
                a.integer("max-tree-size", num(json, "max_tree_size", 1 << 20).intValue()),
                tokenizer == null ? null : Path.of(tokenizer), SecurityConfig.from(json, a), InputLimits.from(json, a));
    }

    /** A double flag (Args' numbers are floats, and 0.3f is not 0.3). */
    private static double real(Args a, String flag, java.util.Map<String, Object> json, String key, double dflt) {
        String v = a.string(flag, null);
        if (v == null) {
            return num(json, key, dflt).doubleValue();
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new ConfigException("--" + flag, v, "a number");
        }
    }

    private static List<String> strings(java.util.Map<String, Object> json, String key) {
        Object v = json.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw new ConfigException(key, v, "a list");
        }
        List<String> out = new ArrayList<>();
        l.forEach(x -> out.add(String.valueOf(x)));
        return out;
    }

    private static String str(java.util.Map<String, Object> json, String key, String dflt) {
        Object v = json.get(key);
        if (v != null && !(v instanceof String)) {
            throw new ConfigException(key, v, "a string");
        }
        return v == null ? dflt : (String) v;
    }

    private static Number num(java.util.Map<String, Object> json, String key, Number dflt) {
        Object v = json.get(key);
        if (v != null && !(v instanceof Number)) {
            throw new ConfigException(key, v, "a number");
        }
        return v == null ? dflt : (Number) v;
    }
}
