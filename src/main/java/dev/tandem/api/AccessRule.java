package dev.tandem.api;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Set;

/**
 * Who may call which HTTP route: the rule behind {@code --api-key}, {@code --admin-api-key} and
 * {@code --open-routes}, pure so that the worker and the gateway apply exactly the same one.
 *
 * <ul>
 *   <li>An open route ({@code /health}, {@code /health_generate}, {@code /metrics} by default) needs nothing.</li>
 *   <li>An admin route needs {@code Authorization: Bearer <admin key>} when an admin key is set: no key or a wrong
 *       one is a 401, the API key alone a 403. Without an admin key, it falls back to the API key when one is set,
 *       and is open with neither (SGLang's own load balancer drives workers so); with
 *       {@code loopbackAdminWithoutKey} (the gateway's {@code /register}) it takes loopback callers only (403 for
 *       others), and the API key too when one is set.</li>
 *   <li>Every other route (unknown paths too, so that a 404 tells nothing to a caller without a key) needs the API
 *       key when one is set; the admin key is accepted there as well.</li>
 * </ul>
 *
 * Keys are compared in constant time over their SHA-256 digests, so neither a key's content nor its length leaks
 * through timing. Paths are compared without a trailing slash ({@code /flush_cache/} is {@code /flush_cache}).
 *
 * @param apiKey                  null: generation routes are open
 * @param adminKey                null: admin routes fall back as described above
 * @param openRoutes              paths that need no key
 * @param adminRoutes             paths that need the admin key
 * @param loopbackAdminWithoutKey without any key, admin routes take loopback callers only
 */
public record AccessRule(String apiKey, String adminKey, Set<String> openRoutes, Set<String> adminRoutes,
                         boolean loopbackAdminWithoutKey) {

    public AccessRule {
        openRoutes = Set.copyOf(openRoutes);
        adminRoutes = Set.copyOf(adminRoutes);
    }

    /** What a route needs. */
    public enum Level { OPEN, API, ADMIN }

    /**
     * The verdict on one call.
     *
     * @param status  200 when allowed, else 401 or 403
     * @param message why not (names what is missing, never a key), or null when allowed
     */
    public record Decision(int status, String message) {
        static final Decision ALLOW = new Decision(200, null);

        public boolean allowed() {
            return status == 200;
        }
    }

    /** What {@code path} needs. */
    public Level level(String path) {
        String p = normalize(path);
        if (openRoutes.contains(p)) {
            return Level.OPEN;
        }
        return adminRoutes.contains(p) ? Level.ADMIN : Level.API;
    }

    /**
     * Decides whether a caller may call {@code path}.
     *
     * @param authorization the {@code Authorization} header, or null
     * @param remoteHost    the caller's IP address (literal), or null when unknown (never loopback then)
     */
    public Decision check(String path, String authorization, String remoteHost) {
        Level level = level(path);
        if (level == Level.OPEN) {
            return Decision.ALLOW;
        }
        String bearer = bearer(authorization);
        if (level == Level.ADMIN) {
            if (adminKey != null) {
                if (bearer == null) {
                    return missing("the admin API key");
                }
                if (same(adminKey, bearer)) {
                    return Decision.ALLOW;
                }
                if (apiKey != null && same(apiKey, bearer)) {
                    return new Decision(403, normalize(path) + " needs the admin API key (--admin-api-key); the API "
                            + "key is not enough");
                }
                return wrong("admin API key");
            }
            if (loopbackAdminWithoutKey && !isLoopback(remoteHost)) {
                return new Decision(403, normalize(path) + " takes loopback callers only while no admin API key is "
                        + "configured (--admin-api-key)");
            }
        }
        if (apiKey == null) {
            return Decision.ALLOW;
        }
        if (bearer == null) {
            return missing("the API key");
        }
        return same(apiKey, bearer) || (adminKey != null && same(adminKey, bearer)) ? Decision.ALLOW : wrong("API key");
    }

    private static Decision missing(String what) {
        return new Decision(401, "Unauthorized: this route needs " + what + " as 'Authorization: Bearer <key>'");
    }

    private static Decision wrong(String what) {
        return new Decision(401, "Unauthorized: the bearer token is not the " + what);
    }

    /** The token of an {@code Authorization: Bearer <token>} header (scheme case-insensitive), or null. */
    public static String bearer(String authorization) {
        if (authorization == null || authorization.length() > 8192) {
            return null;
        }
        String h = authorization.strip();
        if (h.length() < 7 || !h.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
            return null;
        }
        String token = h.substring(7).strip();
        return token.isEmpty() ? null : token;
    }

    /** Constant-time equality, in time independent of where the strings differ and of their lengths. */
    public static boolean same(String expected, String received) {
        return MessageDigest.isEqual(sha256(expected), sha256(received));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** True for an IP literal of the loopback interface (127.0.0.0/8, ::1, ::ffff:127.x); never resolves names. */
    public static boolean isLoopback(String host) {
        if (host == null || host.isEmpty()) {
            return false;
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        try {
            return InetAddress.ofLiteral(h).isLoopbackAddress();
        } catch (IllegalArgumentException e) {
            return false; // a name, not a literal: not trusted
        }
    }

    /** {@code /flush_cache/} and {@code /flush_cache} are one route. */
    static String normalize(String path) {
        if (path == null || path.isEmpty()) {
            return "/";
        }
        String p = path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }
}
