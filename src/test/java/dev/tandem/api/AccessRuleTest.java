package dev.tandem.api;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The key rule shared by workers and the gateway, case by case. */
class AccessRuleTest {
    private static final Set<String> OPEN = Set.of("/health", "/health_generate", "/metrics");
    private static final Set<String> ADMIN = Set.of("/flush_cache", "/abort_request", "/register");

    private static int status(AccessRule rule, String path, String auth, String remote) {
        return rule.check(path, auth, remote).status();
    }

    @Test
    void bothKeysSet() {
        AccessRule r = new AccessRule("K-API-7f3", "K-ADM-91c", OPEN, ADMIN, false);
        for (String open : OPEN) {
            assertEquals(200, status(r, open, null, "10.0.0.1"));
        }
        assertEquals(401, status(r, "/generate", null, "127.0.0.1"));
        assertEquals(401, status(r, "/generate", "Bearer wrong", "127.0.0.1"));
        assertEquals(401, status(r, "/generate", "Basic K-API-7f3", "127.0.0.1"));
        assertEquals(401, status(r, "/generate", "Bearer ", "127.0.0.1"));
        assertEquals(401, status(r, "/generate", "Bearer K-API-7f3-and-more", "127.0.0.1"));
        assertEquals(200, status(r, "/generate", "Bearer K-API-7f3", "10.0.0.1"));
        assertEquals(200, status(r, "/generate", "bearer   K-API-7f3 ", "10.0.0.1"));
        assertEquals(200, status(r, "/v1/completions", "Bearer K-ADM-91c", "10.0.0.1"), "the admin key is a superset");
        assertEquals(401, status(r, "/no/such/route", null, "10.0.0.1"), "unknown paths tell nothing without a key");
        assertEquals(401, status(r, "/flush_cache", null, "127.0.0.1"));
        assertEquals(401, status(r, "/flush_cache", "Bearer nope", "127.0.0.1"));
        assertEquals(403, status(r, "/flush_cache", "Bearer K-API-7f3", "127.0.0.1"));
        assertEquals(403, status(r, "/abort_request/", "Bearer K-API-7f3", "127.0.0.1"),
                "a trailing slash is the route");
        assertEquals(200, status(r, "/abort_request", "Bearer K-ADM-91c", "10.0.0.1"));
        AccessRule.Decision d = r.check("/flush_cache", "Bearer K-API-7f3", null);
        assertEquals("/flush_cache needs the admin API key (--admin-api-key); the API key is not enough", d.message());
        assertEquals("Unauthorized: this route needs the API key as 'Authorization: Bearer <key>'",
                r.check("/generate", null, null).message());
        assertEquals("Unauthorized: the bearer token is not the API key",
                r.check("/generate", "Bearer x", null).message());
        assertFalse(d.message().contains("K-ADM-91c") || d.message().contains("K-API-7f3"), "never echoes a key");
        assertNull(r.check("/generate", "Bearer K-API-7f3", null).message());
    }

    @Test
    void withoutAnAdminKeyWorkersFallBackToTheApiKeyOrStayOpen() {
        AccessRule apiOnly = new AccessRule("K-API-7f3", null, OPEN, ADMIN, false);
        assertEquals(401, status(apiOnly, "/flush_cache", null, "127.0.0.1"));
        assertEquals(200, status(apiOnly, "/flush_cache", "Bearer K-API-7f3", "10.0.0.1"));
        AccessRule none = new AccessRule(null, null, OPEN, ADMIN, false);
        assertEquals(200, status(none, "/flush_cache", null, "10.0.0.1"), "SGLang's load balancer keeps working");
        assertEquals(200, status(none, "/generate", null, "10.0.0.1"));
        AccessRule adminOnly = new AccessRule(null, "K-ADM-91c", OPEN, ADMIN, false);
        assertEquals(200, status(adminOnly, "/generate", null, "10.0.0.1"));
        assertEquals(401, status(adminOnly, "/abort_request", null, "10.0.0.1"));
        assertEquals(401, status(adminOnly, "/abort_request", "Bearer x", "10.0.0.1"));
        assertEquals(200, status(adminOnly, "/abort_request", "Bearer K-ADM-91c", "10.0.0.1"));
    }

    @Test
    void withoutAnAdminKeyTheGatewaysRegisterTakesLoopbackCallersOnly() {
        AccessRule none = new AccessRule(null, null, OPEN, ADMIN, true);
        assertEquals(200, status(none, "/register", null, "127.0.0.1"));
        assertEquals(200, status(none, "/register", null, "::1"));
        assertEquals(200, status(none, "/register", null, "[0:0:0:0:0:0:0:1]"));
        assertEquals(403, status(none, "/register", null, "192.168.1.20"));
        assertEquals(403, status(none, "/register", null, "localhost"), "names are not resolved");
        assertEquals(403, status(none, "/register", null, null));
        assertEquals(200, status(none, "/generate", null, "192.168.1.20"));
        AccessRule apiKey = new AccessRule("k", null, OPEN, ADMIN, true);
        assertEquals(403, status(apiKey, "/register", "Bearer k", "10.1.1.1"));
        assertEquals(401, status(apiKey, "/register", null, "127.0.0.1"));
        assertEquals(200, status(apiKey, "/register", "Bearer k", "127.0.0.1"));
        AccessRule adminKey = new AccessRule(null, "a", OPEN, ADMIN, true);
        assertEquals(200, status(adminKey, "/register", "Bearer a", "10.1.1.1"), "the admin key works from anywhere");
    }

    @Test
    void helpers() {
        assertTrue(AccessRule.same("abc", "abc"));
        assertFalse(AccessRule.same("abc", "abd"));
        assertFalse(AccessRule.same("abc", "abcd"));
        assertFalse(AccessRule.same("abc", ""));
        assertTrue(AccessRule.isLoopback("127.3.2.1"));
        assertTrue(AccessRule.isLoopback("::ffff:127.0.0.1"));
        assertFalse(AccessRule.isLoopback("10.0.0.1"));
        assertFalse(AccessRule.isLoopback("not an address"));
        assertEquals("/a", AccessRule.normalize("/a//"));
        assertEquals("/", AccessRule.normalize("/"));
        assertEquals(AccessRule.Level.OPEN, new AccessRule(null, null, OPEN, ADMIN, false).level("/metrics/"));
    }

    @Test
    void bearerTokensAndLoopbackAddressesAsBothRolesReadThem() {
        assertEquals("abc", AccessRule.bearer("Bearer abc"));
        assertNull(AccessRule.bearer("Bearer "));
        assertNull(AccessRule.bearer("abc"));
        assertNull(AccessRule.bearer(null));
        assertNull(AccessRule.bearer("Bearer " + "x".repeat(9000)), "oversized headers are no token");
        for (String h : List.of("127.0.0.1", "127.8.9.10", "::1", "0:0:0:0:0:0:0:1", "[::1]", "::ffff:127.0.0.1")) {
            assertTrue(AccessRule.isLoopback(h), h);
        }
        for (String h : List.of("10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0", "localhost",
                "127.0.0.1.example.com", "")) {
            assertFalse(AccessRule.isLoopback(h), h);
        }
        assertFalse(AccessRule.isLoopback(null));
    }
}
