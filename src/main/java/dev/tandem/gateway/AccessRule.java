package dev.tandem.gateway;

import dev.tandem.config.SecurityConfig;

import java.util.Set;

/**
 * Who may call which gateway route, as SGLang's servers and sgl-router decide it: {@code --api-key} guards every
 * route but the open ones, {@code --admin-api-key} guards the routes that change what the gateway does. Pure (no
 * sockets), so every branch is unit-tested; the Vert.x side is {@link HttpGuard}.
 *
 * <p>Without an admin key, {@code /register} takes loopback callers only (a worker on the gateway's host, or its
 * operator) and {@code /flush_cache} falls back to the API key. Keys are compared as SHA-256 digests in constant time,
 * so neither their content nor their length leaks through timing. Token parsing, key comparison and the loopback
 * test are the worker's ({@link dev.tandem.api.AccessRule}); what differs here is which route needs what.
 */
final class AccessRule {
    /** What a route asks of its caller. */
    enum Need {
        /** Listed in {@code open_routes}: anyone. */
        OPEN,
        /** Generation, OpenAI and info routes: the API key (or the admin key) when one is set. */
        USER,
        /** {@code /flush_cache}: the admin key; without one, the API key when one is set. */
        ADMIN,
        /** {@code /register}: the admin key; without one, a loopback caller (with the API key when one is set). */
        REGISTRY
    }

    /** The routes that change the worker set or drop state; never opened by {@code open_routes}. */
    static final Set<String> ADMIN_ROUTES = Set.of("/flush_cache");
    static final Set<String> REGISTRY_ROUTES = Set.of("/register");

    /** The answer for one request: {@link #OK}, or a 401/403 with the reason. */
    record Verdict(int status, String message) {
        static final Verdict OK = new Verdict(200, null);

        boolean allowed() {
            return status == 200;
        }
    }

    private final String apiKey;
    private final String adminKey;
    private final Set<String> open;

    AccessRule(String apiKey, String adminApiKey, Set<String> openRoutes) {
        this.apiKey = apiKey;
        this.adminKey = adminApiKey;
        this.open = Set.copyOf(openRoutes);
    }

    static AccessRule of(SecurityConfig s) {
        return new AccessRule(s.apiKey(), s.adminApiKey(), s.openRoutes());
    }

    Need need(String path) {
        if (REGISTRY_ROUTES.contains(path)) {
            return Need.REGISTRY;
        }
        if (ADMIN_ROUTES.contains(path)) {
            return Need.ADMIN;
        }
        return open.contains(path) ? Need.OPEN : Need.USER;
    }

    /**
     * @param authorization the request's {@code Authorization} header, or null
     * @param loopback      whether the caller's address is a loopback address
     */
    Verdict check(Need need, String authorization, boolean loopback) {
        String given = dev.tandem.api.AccessRule.bearer(authorization);
        return switch (need) {
            case OPEN -> Verdict.OK;
            case USER -> apiKey == null || same(given, apiKey) || same(given, adminKey) ? Verdict.OK
                    : missingOrWrong(given, "an API key");
            case ADMIN -> adminKey != null ? admin(given)
                    : apiKey == null || same(given, apiKey) ? Verdict.OK : missingOrWrong(given, "the API key");
            case REGISTRY -> {
                if (adminKey != null) {
                    yield admin(given);
                }
                if (!loopback) {
                    yield new Verdict(403, "Without an admin key (--admin-api-key) this route accepts callers on "
                            + "the gateway's own host only");
                }
                yield apiKey == null || same(given, apiKey) ? Verdict.OK : missingOrWrong(given, "the API key");
            }
        };
    }

    private Verdict admin(String given) {
        if (same(given, adminKey)) {
            return Verdict.OK;
        }
        if (apiKey != null && same(given, apiKey)) {
            return new Verdict(403, "The API key does not grant this route; it needs the admin key");
        }
        return missingOrWrong(given, "the admin key");
    }

    private static Verdict missingOrWrong(String given, String what) {
        return new Verdict(401, given == null ? "Missing credentials: this route needs " + what
                + " as 'Authorization: Bearer <key>'" : "Invalid credentials: the bearer token is not " + what);
    }

    /** Whether {@code host} (an IP literal, as a socket reports it) is a loopback address (the worker's rule). */
    static boolean loopbackAddress(String host) {
        return dev.tandem.api.AccessRule.isLoopback(host);
    }

    /** Constant time, through the worker's comparison (SHA-256 digests): neither content nor length leaks. */
    private static boolean same(String given, String key) {
        return given != null && key != null && dev.tandem.api.AccessRule.same(key, given);
    }
}
