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
 * @param workerKeys            the keys this gateway presents to workers (which may have keys of their own)
 * @param registryTtlS          seconds a worker that came from {@code /register} or an announcement may stay
 *                              unroutable (unhealthy or unconfirmed) before it is removed from the cluster-wide
 *                              registry; workers named on the command line are never removed
 * @param advertisedHost        what other cluster members reach this gateway's event bus at: {@code --advertise-host},
 *                              else {@code host}, or for a wildcard {@code host} a detected address
 * @param breaker               the per-worker circuit breaker's thresholds
 * @param logIntervalS          {@code --log-interval} ({@code launch_lb}'s name): seconds between log lines with
 *                              every worker's health and load; 0 (the default) logs none, as SGLang (which parses
 *                              the flag and never uses it)
 */
public record GatewayConfig(String host, int port, List<String> prefill, List<Integer> prefillBootstrapPorts,
                            List<String> decode, double timeoutS, String prefillPolicy, String decodePolicy,
                            double healthIntervalS, int healthFailures, boolean cluster, double cacheThreshold,
                            long balanceAbsThreshold, double balanceRelThreshold, int maxTreeSize,
                            Path tokenizerPath, SecurityConfig security, InputLimits limits, WorkerKeys workerKeys,
                            double registryTtlS, String advertisedHost, Breaker breaker, double logIntervalS) {
    public static final Set<String> POLICIES = Set.of("random", "round_robin", "power_of_two", "po2", "cache_aware");

    public GatewayConfig {
        prefillBootstrapPorts = java.util.Collections.unmodifiableList(new ArrayList<>(prefillBootstrapPorts));
        if (port < 0 || port > 65535) {
            throw new ConfigException("--port", port, "in [0, 65535]");
        }
        prefill = checkUrls("--prefill", prefill);
        decode = checkUrls("--decode", decode);
        if (prefillBootstrapPorts.size() != prefill.size()) {
            throw new ConfigException("--prefill-bootstrap-ports", prefillBootstrapPorts,
                    "one port, or one per --prefill URL (" + prefill.size() + ")");
        }
        for (Integer b : prefillBootstrapPorts) {
            if (b != null && (b < 1 || b > 65535)) {
                throw new ConfigException("--prefill-bootstrap-ports", b, "ports in [1, 65535] (or none)");
            }
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
        if (security == null || limits == null || workerKeys == null) {
            throw new ConfigException("missing security, limits or worker-key settings");
        }
        // At least one health interval, so that a worker gets a check before it can expire.
        if (!(registryTtlS >= healthIntervalS)) {
            throw new ConfigException("--registry-ttl", registryTtlS, ">= --health-interval (" + healthIntervalS
                    + " s)");
        }
        if (!(logIntervalS == 0 || (logIntervalS >= 0.05 && logIntervalS <= 86400))) {
            throw new ConfigException("--log-interval", logIntervalS, "0 (no load log) or 0.05 to 86400 seconds");
        }
    }

    /**
     * The keys the gateway sends as {@code Authorization: Bearer} to workers; null sends none.
     *
     * @param apiKey      {@code --worker-api-key}: on generation, info, health and load calls (default: the
     *                    gateway's own {@code --api-key})
     * @param adminApiKey {@code --worker-admin-api-key}: on {@code /flush_cache} and {@code /abort_request} (default:
     *                    the gateway's {@code --admin-api-key}, else the worker api key)
     */
    /**
     * sgl-router's circuit breaker per worker ({@code --cb-failure-threshold}, {@code --cb-success-threshold},
     * {@code --cb-timeout-duration-secs}; its defaults 10, 3, 60).
     */
    public record Breaker(int failureThreshold, int successThreshold, double openSeconds) {
        public Breaker {
            if (failureThreshold < 1) {
                throw new ConfigException("--cb-failure-threshold", failureThreshold, ">= 1");
            }
            if (successThreshold < 1) {
                throw new ConfigException("--cb-success-threshold", successThreshold, ">= 1");
            }
            if (!(openSeconds > 0)) {
                throw new ConfigException("--cb-timeout-duration-secs", openSeconds, "> 0 seconds");
            }
        }
    }

    public record WorkerKeys(String apiKey, String adminApiKey) {
        public WorkerKeys {
            checkKey("worker_api_key", apiKey);
            checkKey("worker_admin_api_key", adminApiKey);
        }

        @Override
        public String toString() {
            return "WorkerKeys[apiKey=" + (apiKey == null ? "none" : "set") + ", adminApiKey="
                    + (adminApiKey == null ? "none" : "set") + "]";
        }
    }

    private static void checkKey(String field, String key) {
        if (key != null && (key.isEmpty() || key.length() > 4096 || !key.chars().allMatch(c -> c > 32 && c < 127))) {
            throw new ConfigException(field, "<" + key.length() + " characters>",
                    "1 to 4096 printable ASCII characters without spaces");
        }
    }

    /** True when either pool routes by cache_aware (the gateway then tokenizes and listens to KV events). */
    public boolean cacheAware() {
        return prefillPolicy.equals("cache_aware") || decodePolicy.equals("cache_aware");
    }

    private static List<String> checkUrls(String flag, List<String> urls) {
        List<String> out = new ArrayList<>();
        for (String u : urls) {
            try {
                out.add(workerUrl(u));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(flag, u, "a worker URL scheme://host:port like http://127.0.0.1:30001 ("
                        + e.getMessage() + ")");
            }
        }
        return List.copyOf(out);
    }

    /**
     * The one rule for a worker's address, wherever it comes from (flags, {@code /register}, announcements on the
     * bus): exactly {@code scheme://host:port} with scheme http or https, no user info, no path other than "/", no
     * query or fragment, an explicit port in [1, 65535] and a host that is a DNS name or an IP literal. Anything else
     * could make the gateway send prompts (and its worker key) somewhere the operator did not mean.
     *
     * @return the URL normalized: scheme and host in lower case, no trailing slash
     * @throws IllegalArgumentException saying what is wrong
     */
    public static String workerUrl(String url) {
        if (url == null || url.isEmpty() || url.length() > 300) {
            throw new IllegalArgumentException("must be 1 to 300 characters");
        }
        URI u;
        try {
            u = new URI(url);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("not a URL");
        }
        String scheme = u.getScheme() == null ? null : u.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            throw new IllegalArgumentException("scheme must be http or https");
        }
        if (u.isOpaque() || u.getRawAuthority() == null) {
            throw new IllegalArgumentException("must be scheme://host:port");
        }
        if (u.getRawUserInfo() != null) {
            throw new IllegalArgumentException("must not carry user info");
        }
        if (u.getRawQuery() != null || u.getRawFragment() != null) {
            throw new IllegalArgumentException("must not carry a query or a fragment");
        }
        if (!(u.getRawPath() == null || u.getRawPath().isEmpty() || u.getRawPath().equals("/"))) {
            throw new IllegalArgumentException("must not carry a path");
        }
        String host = u.getHost();
        if (host == null || u.getPort() < 1 || u.getPort() > 65535) {
            throw new IllegalArgumentException("must name a host and an explicit port in [1, 65535]");
        }
        host = host.toLowerCase(java.util.Locale.ROOT);
        if (host.startsWith("[")) {
            try {
                java.net.InetAddress.ofLiteral(host.substring(1, host.length() - 1));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("not an IPv6 literal: " + host);
            }
        } else if (!HOSTNAME.matcher(host).matches() || host.length() > 253) {
            throw new IllegalArgumentException("not a host name or IP literal: " + host);
        }
        return scheme + "://" + host + ":" + u.getPort();
    }

    /** DNS labels of letters, digits and inner hyphens (which covers dotted IPv4 literals). */
    private static final java.util.regex.Pattern HOSTNAME = java.util.regex.Pattern.compile(
            "([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");

    /** From {@code launch_lb}-style flags. */
    public static GatewayConfig from(Args a) {
        return from(java.util.Map.of(), a);
    }

    private static final Set<String> KEYS = Set.of("host", "port", "prefill", "prefill_bootstrap_ports", "decode",
            "timeout", "policy", "prefill_policy", "decode_policy", "health_interval", "health_failures", "cluster",
            "cache_threshold", "balance_abs_threshold", "balance_rel_threshold", "max_tree_size", "tokenizer_path",
            "worker_api_key", "worker_admin_api_key", "registry_ttl", "advertise_host", "cb_failure_threshold",
            "cb_success_threshold", "cb_timeout_duration_secs", "log_interval");
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
        // (Args reads SGLang's --model-path as --model, the workers' name for the same directory.)
        String tokenizer = a.string("tokenizer-path", a.string("model", str(json, "tokenizer_path", null)));
        SecurityConfig security = SecurityConfig.from(json, a);
        // Workers of one deployment usually share the gateway's keys, so by default the gateway presents its own.
        String workerKey = a.string("worker-api-key", str(json, "worker_api_key", security.apiKey()));
        String workerAdminKey = a.string("worker-admin-api-key", str(json, "worker_admin_api_key",
                security.adminApiKey() != null ? security.adminApiKey() : workerKey));
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
                tokenizer == null ? null : Path.of(tokenizer), security, InputLimits.from(json, a),
                new WorkerKeys(workerKey, workerAdminKey), real(a, "registry-ttl", json, "registry_ttl", 300),
                HostAddress.advertised(a.string("host", str(json, "host", "127.0.0.1")),
                        a.string("advertise-host", str(json, "advertise_host", null)), "--advertise-host"),
                new Breaker(a.integer("cb-failure-threshold", num(json, "cb_failure_threshold", 10).intValue()),
                        a.integer("cb-success-threshold", num(json, "cb_success_threshold", 3).intValue()),
                        real(a, "cb-timeout-duration-secs", json, "cb_timeout_duration_secs", 60)),
                real(a, "log-interval", json, "log_interval", 0));
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
