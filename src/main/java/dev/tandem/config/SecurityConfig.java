package dev.tandem.config;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who may do what, for a worker or a gateway: the HTTP keys, the routes left open, the cluster secret, and the
 * optional event-bus TLS material. Read once from the config file and flags by {@link #from}.
 *
 * @param apiKey        {@code --api-key}: required as {@code Authorization: Bearer …} on generation and OpenAI
 *                      routes when set (null: open)
 * @param adminApiKey   {@code --admin-api-key}: required on {@code /register}, {@code /flush_cache},
 *                      {@code /abort_request} and worker-list changes. Without it: on the gateway, {@code /register}
 *                      takes loopback callers only (plus the API key when set); on workers, the admin routes take
 *                      the API key when set, else stay open (SGLang's own load balancer drives workers so)
 * @param openRoutes    {@code --open-routes}: paths that need no key even when keys are set
 *                      ({@code /health /health_generate /metrics} by default)
 * @param secret        the cluster secret (never from the command line; see {@link ClusterSecret})
 * @param busTls        event-bus TLS, or null for plain TCP between members
 */
public record SecurityConfig(String apiKey, String adminApiKey, Set<String> openRoutes, ClusterSecret secret,
                             BusTls busTls) {
    public static final List<String> DEFAULT_OPEN_ROUTES = List.of("/health", "/health_generate", "/metrics");

    /** Config-file keys this record reads (snake_case). */
    public static final Set<String> KEYS = Set.of("api_key", "admin_api_key", "open_routes", "cluster_secret_file",
            "bus_tls_key", "bus_tls_cert", "bus_tls_ca");

    /**
     * Mutual TLS between event-bus members (PEM files).
     *
     * @param keyPath  this member's private key
     * @param certPath this member's certificate
     * @param caPath   the certificates (or CA) members trust; every member must present one of them
     */
    public record BusTls(String keyPath, String certPath, String caPath) {
        public BusTls {
            for (var e : Map.of("bus_tls_key", keyPath == null ? "" : keyPath, "bus_tls_cert",
                    certPath == null ? "" : certPath, "bus_tls_ca", caPath == null ? "" : caPath).entrySet()) {
                if (e.getValue().isEmpty() || !java.nio.file.Files.isRegularFile(java.nio.file.Path.of(e.getValue()))) {
                    throw new ConfigException(e.getKey(), e.getValue(),
                            "a readable PEM file (bus_tls_key, bus_tls_cert and bus_tls_ca go together)");
                }
            }
        }
    }

    public SecurityConfig {
        openRoutes = Set.copyOf(openRoutes);
        for (String r : openRoutes) {
            if (!r.startsWith("/")) {
                throw new ConfigException("open_routes", r, "paths starting with /");
            }
        }
        checkKey("api_key", apiKey);
        checkKey("admin_api_key", adminApiKey);
        if (secret == null) {
            throw new ConfigException("missing cluster secret");
        }
    }

    private static void checkKey(String field, String key) {
        if (key != null && (key.isBlank() || key.length() > 4096 || !key.chars().allMatch(c -> c > 32 && c < 127))) {
            throw new ConfigException(field, "<" + key.length() + " characters>",
                    "1 to 4096 printable ASCII characters without spaces");
        }
    }

    /** True when {@code path} needs no key. */
    public boolean open(String path) {
        return openRoutes.contains(path);
    }

    /**
     * Reads the fields from a JSON config ({@code json}, may be empty) with flags on top. A secret on the command
     * line ({@code --cluster-secret}) is refused: it would be visible to every user of the host.
     */
    public static SecurityConfig from(Map<String, Object> json, Args cli) {
        if (cli != null && cli.has("cluster-secret")) {
            throw new ConfigException("--cluster-secret is not accepted on the command line (other users of the host "
                    + "can read it); put the secret in a 0600 file and pass --cluster-secret-file PATH, or set $"
                    + ClusterSecret.ENV_SECRET);
        }
        String apiKey = str(json, cli, "api_key", "api-key");
        String adminKey = str(json, cli, "admin_api_key", "admin-api-key");
        List<String> open;
        if (cli != null && cli.has("open-routes")) {
            open = cli.list("open-routes");
        } else if (json.get("open_routes") instanceof List<?> l) {
            open = l.stream().map(String::valueOf).toList();
        } else if (json.get("open_routes") != null) {
            throw new ConfigException("open_routes", json.get("open_routes"), "a list of paths");
        } else {
            open = DEFAULT_OPEN_ROUTES;
        }
        String secretFile = str(json, cli, "cluster_secret_file", "cluster-secret-file");
        String key = str(json, cli, "bus_tls_key", "bus-tls-key");
        String cert = str(json, cli, "bus_tls_cert", "bus-tls-cert");
        String ca = str(json, cli, "bus_tls_ca", "bus-tls-ca");
        BusTls tls = key == null && cert == null && ca == null ? null : new BusTls(key, cert, ca);
        return new SecurityConfig(apiKey, adminKey, Set.copyOf(open), ClusterSecret.load(secretFile), tls);
    }

    private static String str(Map<String, Object> json, Args cli, String key, String flag) {
        if (cli != null && cli.has(flag)) {
            return cli.string(flag, null);
        }
        Object o = json.get(key);
        if (o != null && !(o instanceof String)) {
            throw new ConfigException(key, o, "a string");
        }
        return (String) o;
    }

    @Override
    public String toString() {
        return "SecurityConfig[apiKey=" + (apiKey == null ? "none" : "set") + ", adminApiKey="
                + (adminApiKey == null ? "none" : "set") + ", openRoutes=" + openRoutes + ", secret=" + secret
                + ", busTls=" + busTls + "]";
    }
}
