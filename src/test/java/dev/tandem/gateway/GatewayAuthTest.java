package dev.tandem.gateway;

import dev.tandem.metrics.Meters;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static dev.tandem.gateway.TrustFixture.count;
import static dev.tandem.gateway.TrustFixture.registration;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile clients against the gateway's keys, over real sockets; and the keys the gateway itself shows workers. */
@ExtendWith(VertxExtension.class)
class GatewayAuthTest {
    private static final String[] UNAUTHORIZED_401 = {"role", "gateway", "status", "401"};
    private static final String[] FORBIDDEN_403 = {"role", "gateway", "status", "403"};

    @Test
    void everyRouteButTheOpenOnesNeedsTheKeyAndAdminRoutesTheAdminKey(Vertx vertx) throws Exception {
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        MockWorker d = new MockWorker("decode", 0, 0, 2);
        vertx.deployVerticle(p).await();
        vertx.deployVerticle(d).await();
        TrustFixture f = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(), "--api-key", "user-key",
                "--admin-api-key", "admin-key", "--prefill", p.url(), "--prefill-bootstrap-ports", "9000",
                "--decode", d.url());
        TrustFixture.await("both workers routable", () -> f.get("/health", null).statusCode() == 200);
        double n401 = count(Meters.HTTP_UNAUTHORIZED, UNAUTHORIZED_401);
        double n403 = count(Meters.HTTP_UNAUTHORIZED, FORBIDDEN_403);

        HttpResponse<Buffer> none = f.post("/generate", "{\"text\": \"hi\"}", null);
        assertEquals(401, none.statusCode());
        assertEquals("Bearer", none.getHeader("WWW-Authenticate"));
        assertTrue(none.bodyAsJsonObject().getJsonObject("error").getString("message").contains("Missing credentials"));
        HttpResponse<Buffer> wrong = f.post("/v1/chat/completions", "{\"messages\": []}", "user-key2");
        assertEquals(401, wrong.statusCode());
        assertEquals("error", wrong.bodyAsJsonObject().getString("object"), "OpenAI's shape on /v1 routes");
        assertEquals(401, f.post("/v1/completions", "{\"prompt\": \"hi\"}", null).statusCode());
        assertTrue(p.received().isEmpty() && d.received().isEmpty(), "nothing reached a worker");
        assertEquals(200, f.post("/generate", "{\"text\": \"hi\"}", "user-key").statusCode());
        assertEquals(200, f.post("/generate", "{\"text\": \"hi\"}", "admin-key").statusCode());

        int refused = 3;
        for (String info : List.of("/get_server_info", "/list_workers", "/get_loads", "/v1/models",
                "/get_model_info")) {
            assertEquals(401, f.get(info, null).statusCode(), info);
            assertEquals(200, f.get(info, "user-key").statusCode(), info);
            refused++;
        }
        for (String open : List.of("/health", "/health_generate", "/metrics")) {
            assertEquals(200, f.get(open, null).statusCode(), open + " stays open");
        }

        String reg = registration("decode", "http://127.0.0.1:30777", null);
        assertEquals(401, f.post("/register", reg, null).statusCode());
        assertEquals(401, f.post("/register", reg, "nope").statusCode());
        assertEquals(403, f.post("/register", reg, "user-key").statusCode(), "the api key is not the admin key");
        assertEquals(401, f.post("/flush_cache", "", null).statusCode());
        assertEquals(403, f.post("/flush_cache", "", "user-key").statusCode());
        assertEquals(1, f.listed("decode", "user-key").size(), "no refused registration landed");
        assertEquals(200, f.post("/flush_cache", "", "admin-key").statusCode());
        assertEquals(200, f.post("/register", reg, "admin-key").statusCode());
        assertEquals(2, f.listed("decode", "user-key").size());
        refused += 3;

        assertEquals(refused, count(Meters.HTTP_UNAUTHORIZED, UNAUTHORIZED_401) - n401, "each 401 counted");
        assertEquals(2, count(Meters.HTTP_UNAUTHORIZED, FORBIDDEN_403) - n403, "each 403 counted");
        assertTrue(f.get("/metrics", null).bodyAsString().contains(
                "tandem_http_unauthorized_total{role=\"gateway\",route=\"/register\",status=\"403\"}"));
    }

    @Test
    void withoutAnAdminKeyRegisterTakesLoopbackCallersOnly(Vertx vertx) throws Exception {
        MockWorker d = new MockWorker("decode", 0, 0, 2);
        vertx.deployVerticle(d).await();
        String reg = registration("decode", d.url(), null);

        // A real loopback socket, judged by the real address check.
        TrustFixture local = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of());
        HttpResponse<Buffer> ok = local.post("/register", reg, null);
        assertEquals(200, ok.statusCode(), ok.bodyAsString());
        assertEquals(true, ok.bodyAsJsonObject().getBoolean("confirmed"));

        // The same socket, with the address check standing in for a caller on another host.
        TrustFixture remote = TrustFixture.start(vertx, host -> false, List.of());
        HttpResponse<Buffer> refused = remote.post("/register", registration("prefill", "http://127.0.0.1:30778",
                8998), null);
        assertEquals(403, refused.statusCode());
        assertTrue(refused.bodyAsJsonObject().getJsonObject("error").getString("message").contains("--admin-api-key"));
        TrustFixture.await("the other gateway sees only the loopback registration",
                () -> remote.listed("decode", null).size() == 1);
        assertTrue(remote.listed("prefill", null).isEmpty(), "the remote registration never landed");

        // With an api key but no admin key: loopback and the api key for /register, the api key for /flush_cache.
        TrustFixture keyed = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(), "--api-key", "k");
        assertEquals(401, keyed.post("/register", reg, null).statusCode());
        assertEquals(200, keyed.post("/register", reg, "k").statusCode());
        assertEquals(401, keyed.post("/flush_cache", "", null).statusCode());
        assertEquals(200, keyed.post("/flush_cache", "", "k").statusCode());
        TrustFixture keyedRemote = TrustFixture.start(vertx, host -> false, List.of(), "--api-key", "k");
        assertEquals(403, keyedRemote.post("/register", reg, "k").statusCode());
        // flush reaches the workers this gateway knows and has confirmed: wait until the registration above reached
        // its registry and its health check confirmed the worker (before that the fan-out is a 503: CI lost the race)
        TrustFixture.await("the keyed remote gateway sees the decode worker, confirmed",
                () -> keyedRemote.listed("decode", "k").size() == 1
                        && keyedRemote.listed("decode", "k").getJsonObject(0).getBoolean("confirmed", false));
        assertEquals(200, keyedRemote.post("/flush_cache", "", "k").statusCode(), "flush is not loopback-bound");
    }

    @Test
    void workersGetTheWorkerKeysAndNeverTheClientsHeader(Vertx vertx) throws Exception {
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        MockWorker d = new MockWorker("decode", 3_000, 0, 2);
        for (MockWorker m : List.of(p, d)) {
            m.keys("worker-key", "worker-admin");
            vertx.deployVerticle(m).await();
        }
        TrustFixture f = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(), "--api-key", "client-key",
                "--worker-api-key", "worker-key", "--worker-admin-api-key", "worker-admin", "--prefill", p.url(),
                "--prefill-bootstrap-ports", "9000", "--decode", d.url());
        TrustFixture.await("both workers confirmed with the worker key", () -> f.get("/health", null).statusCode() == 200);

        // The prefill fails at once, so the gateway aborts the (slow) decode side with the worker admin key.
        p.fail(500, "boom");
        HttpResponse<Buffer> r = f.post("/generate", "{\"text\": \"hi\", \"rid\": \"r1\"}", "client-key");
        assertEquals(502, r.statusCode(), r.bodyAsString());
        TrustFixture.await("decode aborted", () -> d.aborted().equals(List.of("r1")));
        assertEquals(200, f.post("/flush_cache", "", "client-key").statusCode(), "the worker admin key was accepted");

        for (MockWorker m : List.of(p, d)) {
            for (String seen : m.authorizations()) {
                assertFalse(seen.contains("client-key"), "the client's header reached a worker: " + seen);
                boolean admin = seen.startsWith("/flush_cache") || seen.startsWith("/abort_request");
                assertTrue(seen.endsWith(admin ? " Bearer worker-admin" : " Bearer worker-key"), seen);
            }
        }
        for (String path : List.of("/get_server_info ", "/health ", "/get_load ", "/generate ", "/flush_cache ")) {
            assertTrue(d.authorizations().stream().anyMatch(s -> s.startsWith(path)), path + " was called");
        }

        // A gateway that presents the wrong key never confirms the worker, and says why.
        TrustFixture wrongKey = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(), "--api-key",
                "client-key", "--decode", d.url());
        TrustFixture.await("the worker refused the key", () -> {
            var w = TrustFixture.find(wrongKey.listed("decode", "client-key"), d.url());
            return w != null && String.valueOf(w.getString("unconfirmed_reason")).contains("401");
        });
        var w = TrustFixture.find(wrongKey.listed("decode", "client-key"), d.url());
        assertEquals(false, w.getBoolean("confirmed"));
        assertTrue(w.getString("unconfirmed_reason").contains("--worker-api-key"), w.encode());
    }
}
