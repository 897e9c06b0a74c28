package dev.tandem.gateway;

import dev.tandem.gateway.AccessRule.Need;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The key rule of every gateway route, branch by branch (the sockets are in GatewayAuthTest). */
class AccessRuleTest {
    private static final Set<String> OPEN = Set.of("/health", "/health_generate", "/metrics");

    private static int status(AccessRule rule, String path, String header, boolean loopback) {
        return rule.check(rule.need(path), header, loopback).status();
    }

    @Test
    void routesAreClassifiedAndAdminRoutesCannotBeOpened() {
        AccessRule r = new AccessRule("k", "a", Set.of("/health", "/register", "/flush_cache"));
        assertEquals(Need.OPEN, r.need("/health"));
        assertEquals(Need.USER, r.need("/generate"));
        assertEquals(Need.USER, r.need("/v1/models"));
        assertEquals(Need.USER, r.need("/list_workers"));
        assertEquals(Need.REGISTRY, r.need("/register"), "open_routes cannot open /register");
        assertEquals(Need.ADMIN, r.need("/flush_cache"), "nor /flush_cache");
    }

    @Test
    void bothKeys() {
        AccessRule r = new AccessRule("user-key", "admin-key", OPEN);
        for (boolean loopback : new boolean[] {true, false}) {
            assertEquals(200, status(r, "/health", null, loopback));
            assertEquals(401, status(r, "/generate", null, loopback));
            assertEquals(401, status(r, "/generate", "Bearer wrong", loopback));
            assertEquals(401, status(r, "/generate", "Basic user-key", loopback), "only the Bearer scheme");
            assertEquals(200, status(r, "/generate", "Bearer user-key", loopback));
            assertEquals(200, status(r, "/generate", "bearer   user-key ", loopback), "scheme case, spaces");
            assertEquals(200, status(r, "/generate", "Bearer admin-key", loopback), "the admin key serves too");
            for (String admin : List.of("/register", "/flush_cache")) {
                assertEquals(401, status(r, admin, null, loopback), admin);
                assertEquals(401, status(r, admin, "Bearer wrong", loopback), admin);
                assertEquals(401, status(r, admin, "Bearer user-key-and-more", loopback), admin);
                assertEquals(403, status(r, admin, "Bearer user-key", loopback), admin + ": api key only");
                assertEquals(200, status(r, admin, "Bearer admin-key", loopback), admin);
            }
        }
    }

    @Test
    void withoutAnAdminKeyRegisterTakesLoopbackCallersOnlyAndFlushFallsBackToTheApiKey() {
        AccessRule none = new AccessRule(null, null, OPEN);
        assertEquals(200, status(none, "/register", null, true));
        AccessRule.Verdict remote = none.check(Need.REGISTRY, "Bearer anything", false);
        assertEquals(403, remote.status());
        assertTrue(remote.message().contains("--admin-api-key"), remote.message());
        assertEquals(200, status(none, "/flush_cache", null, false), "no keys at all: SGLang's open default");
        assertEquals(200, status(none, "/generate", null, false));

        AccessRule apiOnly = new AccessRule("user-key", null, OPEN);
        assertEquals(401, status(apiOnly, "/register", null, true), "loopback, but the api key is set");
        assertEquals(200, status(apiOnly, "/register", "Bearer user-key", true));
        assertEquals(403, status(apiOnly, "/register", "Bearer user-key", false), "never from afar");
        assertEquals(401, status(apiOnly, "/flush_cache", null, false));
        assertEquals(200, status(apiOnly, "/flush_cache", "Bearer user-key", false));

        AccessRule adminOnly = new AccessRule(null, "admin-key", OPEN);
        assertEquals(200, status(adminOnly, "/generate", null, false));
        assertEquals(200, status(adminOnly, "/register", "Bearer admin-key", false), "the admin key works from afar");
        assertEquals(401, status(adminOnly, "/register", null, true), "the admin key is needed even on loopback");
    }
}
