package dev.tandem.gateway;

import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import dev.tandem.config.ClusterSecret;
import dev.tandem.metrics.Meters;
import dev.tandem.metrics.MetricsSetup;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.tandem.gateway.TrustFixture.count;
import static dev.tandem.gateway.TrustFixture.find;
import static dev.tandem.gateway.TrustFixture.registration;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who can put a worker in front of the gateway's clients: only a /register caller with the right key (and a URL of
 * the one allowed shape), a worker announcement sealed with the cluster secret, or a map entry signed with it, and
 * only a worker that confirms its mode; entries unroutable past the TTL leave.
 */
@ExtendWith(VertxExtension.class)
class GatewayRegistryTrustTest {
    private static final ClusterSecret OTHER = ClusterSecret.of("another cluster's secret, 32 bytes"
            .getBytes(StandardCharsets.UTF_8), "test");

    private static double rejected(String reason) {
        return count(Meters.BUS_REJECTED, "reason", reason);
    }

    @Test
    void ssrfShapedUrlsAreRefusedWith400NamingRegistryUrl(Vertx vertx) {
        TrustFixture f = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of());
        for (String bad : List.of("http://u:p@h:1", "http://h:1/x", "http://h:1?q", "http://h:1#f", "file:///etc/passwd",
                "h:1", "http://h", "gopher://h:1", "http://127.0.0.1:30001/admin?x=1", "http://h:1:2")) {
            HttpResponse<Buffer> r = f.post("/register", registration("decode", bad, null), null);
            assertEquals(400, r.statusCode(), bad + ": " + r.bodyAsString());
            assertTrue(r.bodyAsJsonObject().getJsonObject("error").getString("message").contains("registry_url"),
                    r.bodyAsString());
        }
        assertTrue(f.listed("decode", null).isEmpty());
        assertTrue(f.listed("prefill", null).isEmpty());
    }

    @Test
    void aWorkerThatReportsAnotherModeOrBootstrapPortIsNeverRoutedTo(Vertx vertx) throws Exception {
        MockWorker d = new MockWorker("decode", 0, 0, 2);
        MockWorker wrongPort = new MockWorker("prefill", 0, 0, 1);
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        wrongPort.bootstrapPort(9001);
        p.bootstrapPort(9002);
        TrustFixture f = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(d, wrongPort, p));
        assertEquals(200, f.post("/register", registration("decode", d.url(), null), null).statusCode());
        HttpResponse<Buffer> asPrefill = f.post("/register", registration("prefill", d.url(), 9000), null);
        assertEquals(200, asPrefill.statusCode());
        assertEquals(false, asPrefill.bodyAsJsonObject().getBoolean("confirmed"));
        assertTrue(asPrefill.bodyAsJsonObject().getString("reason").contains("disaggregation_mode 'decode'"));
        HttpResponse<Buffer> port = f.post("/register", registration("prefill", wrongPort.url(), 9000), null);
        assertTrue(port.bodyAsJsonObject().getString("reason").contains("bootstrap port 9001"), port.bodyAsString());
        assertEquals(503, f.get("/health", null).statusCode(), "no confirmed prefill worker yet");
        assertEquals(503, f.post("/generate", "{\"text\": \"hi\"}", null).statusCode());
        assertEquals(true, f.post("/register", registration("prefill", p.url(), 9002), null).bodyAsJsonObject()
                .getBoolean("confirmed"));

        for (int i = 0; i < 8; i++) {
            assertEquals(200, f.post("/generate", "{\"text\": \"hi\"}", null).statusCode());
        }
        TrustFixture.await("the prefill answered", () -> p.received().size() == 8);
        assertEquals(8, d.received().size(), "the decode worker served as decode only, never as prefill");
        assertTrue(wrongPort.received().isEmpty(), "the worker with another bootstrap port got nothing");
        var listed = f.listed("prefill", null);
        assertEquals(false, find(listed, d.url()).getBoolean("confirmed"));
        assertEquals(true, find(listed, d.url()).getBoolean("healthy"), "alive, yet not routable");
        assertEquals(true, find(listed, p.url()).getBoolean("confirmed"));
        var info = f.get("/get_server_info", null).bodyAsJsonObject().getJsonArray("prefill");
        assertTrue(find(info, d.url()).getString("error").startsWith("not confirmed"), "fan-out skips it: " + info);
    }

    @Test
    void anEntryUnroutablePastTheTtlLeavesEveryGatewayAndTheClusterMap(Vertx vertx) throws Exception {
        MockWorker seeded = new MockWorker("prefill", 0, 0, 1);
        MockWorker dynamic = new MockWorker("decode", 0, 0, 2);
        vertx.deployVerticle(seeded).await();
        vertx.deployVerticle(dynamic).await();
        TrustFixture f = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(),
                "--registry-ttl", "0.5", "--prefill", seeded.url(), "--prefill-bootstrap-ports", "9000");
        TrustFixture other = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(), "--registry-ttl", "300");
        assertEquals(200, f.post("/register", registration("decode", dynamic.url(), null), null).statusCode());
        TrustFixture.await("both gateways list the registered worker",
                () -> f.listed("decode", null).size() == 1 && other.listed("decode", null).size() == 1);
        AsyncMap<String, Object> map = vertx.sharedData().<String, Object>getAsyncMap(WorkerRegistry.MAP).await();
        String key = "decode " + dynamic.url();
        assertNotNull(map.get(key).await());

        seeded.healthy(false);
        dynamic.healthy(false);
        TrustFixture.await("the registered worker expired", () -> f.listed("decode", null).isEmpty());
        assertNull(map.get(key).await(), "removed from the cluster map");
        TrustFixture.await("and from the other gateway's snapshot", () -> other.listed("decode", null).isEmpty());
        Thread.sleep(1000); // twice the TTL more: the seeded worker must still be there
        var kept = find(f.listed("prefill", null), seeded.url());
        assertNotNull(kept, "workers named on the command line are never removed");
        assertEquals(false, kept.getBoolean("healthy"));
        assertEquals(false, kept.getBoolean("expires"));

        // A worker that comes back registers again and is routable again.
        dynamic.healthy(true);
        seeded.healthy(true);
        assertEquals(true, f.post("/register", registration("decode", dynamic.url(), null), null).bodyAsJsonObject()
                .getBoolean("confirmed"));
        TrustFixture.await("routable again", () -> f.get("/health", null).statusCode() == 200);
    }

    @Test
    void registryEntriesWithoutAValidSignatureAreIgnored(Vertx vertx) throws Exception {
        MockWorker unsigned = new MockWorker("decode", 0, 0, 2);
        MockWorker foreign = new MockWorker("decode", 0, 0, 2);
        MockWorker moved = new MockWorker("decode", 0, 0, 2);
        MockWorker genuine = new MockWorker("decode", 0, 0, 2);
        TrustFixture f = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(unsigned, foreign, moved,
                genuine));
        BusSigner ours = new BusSigner(f.config().security().secret(), null);
        BusSigner theirs = new BusSigner(OTHER, null);
        AsyncMap<String, Object> map = vertx.sharedData().<String, Object>getAsyncMap(WorkerRegistry.MAP).await();
        double unsignedBefore = rejected("unsigned");
        double badBefore = rejected("bad_signature");

        map.put("decode " + unsigned.url(), entry(unsigned)).await();
        map.put("decode http://127.0.0.1:1", "decode " + unsigned.url()).await();
        map.put("decode " + foreign.url(), theirs.signRecord("registry:decode " + foreign.url(), entry(foreign)))
                .await();
        // Signed with our secret, but for another key: moving a signed entry does not make it valid elsewhere.
        map.put("decode " + moved.url(), ours.signRecord("registry:decode " + genuine.url(), entry(moved))).await();
        // The control: the same writing with our secret and the right key is a worker.
        map.put("decode " + genuine.url(), ours.signRecord("registry:decode " + genuine.url(), entry(genuine))).await();

        TrustFixture.await("the genuine entry is listed", () -> f.listed("decode", null).size() == 1);
        Thread.sleep(2500); // a few more refreshes: each forged value is refused (and counted) once
        assertEquals(List.of(genuine.url()), f.listed("decode", null).stream().map(o -> ((JsonObject) o)
                .getString("url")).toList());
        assertEquals(2, rejected("unsigned") - unsignedBefore, "an unsigned object and a string");
        assertEquals(2, rejected("bad_signature") - badBefore, "another secret, and a moved entry");

        // A forged value squatting on a real worker's key does not keep that worker out.
        assertEquals(200, f.post("/register", registration("decode", unsigned.url(), null), null).statusCode());
        TrustFixture.await("listed after registering", () -> find(f.listed("decode", null), unsigned.url()) != null);
        ours.openRecord("registry:decode " + unsigned.url(), map.get("decode " + unsigned.url()).await());
    }

    private static JsonObject entry(MockWorker w) {
        return new JsonObject().put("mode", "decode").put("url", w.url()).putNull("bootstrap_port").put("expires", true);
    }

    @Test
    void forgedStaleAndReplayedAnnouncementsAreRefusedAndCounted(Vertx vertx) throws Exception {
        MockWorker w = new MockWorker("decode", 0, 0, 2);
        MockWorker forged = new MockWorker("decode", 0, 0, 2);
        TrustFixture f = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(w, forged));
        BusSigner ours = new BusSigner(f.config().security().secret(), null);
        BusSigner theirs = new BusSigner(OTHER, null);
        BusSigner late = new BusSigner(f.config().security().secret(), BusSigner.DEFAULT_WINDOW_MS,
                () -> System.currentTimeMillis() - 10 * BusSigner.DEFAULT_WINDOW_MS, null);
        var bus = vertx.eventBus();
        double unsignedBefore = rejected("unsigned");
        double badBefore = rejected("bad_signature");
        double staleBefore = rejected("stale");
        double replayBefore = rejected("replay");

        bus.publish(BusAddresses.WORKERS, announcement(forged)); // the old, unsigned form
        TrustFixture.await("unsigned refused", () -> rejected("unsigned") - unsignedBefore == 1);
        bus.publish(BusAddresses.WORKERS, theirs.seal(BusAddresses.WORKERS, announcement(forged)));
        TrustFixture.await("another secret refused", () -> rejected("bad_signature") - badBefore == 1);
        bus.publish(BusAddresses.WORKERS, late.seal(BusAddresses.WORKERS, announcement(forged)));
        TrustFixture.await("stale refused", () -> rejected("stale") - staleBefore == 1);
        JsonObject tampered = ours.seal(BusAddresses.WORKERS, announcement(w));
        tampered.put("payload", announcement(forged).encode());
        bus.publish(BusAddresses.WORKERS, tampered);
        TrustFixture.await("altered refused", () -> rejected("bad_signature") - badBefore == 2);
        bus.publish(BusAddresses.WORKERS, ours.seal(BusAddresses.WORKERS, announcement(forged)
                .put("registry_url", "http://u:p@127.0.0.1:" + forged.port())));
        bus.publish(BusAddresses.WORKERS, ours.seal(BusAddresses.WORKERS, announcement(forged).put("mode", "null")));

        JsonObject genuine = ours.seal(BusAddresses.WORKERS, announcement(w));
        bus.publish(BusAddresses.WORKERS, genuine);
        TrustFixture.await("the sealed announcement added its worker", () -> f.listed("decode", null).size() == 1);
        bus.publish(BusAddresses.WORKERS, genuine);
        TrustFixture.await("the replay refused", () -> rejected("replay") - replayBefore == 1);
        assertEquals(List.of(w.url()), f.listed("decode", null).stream().map(o -> ((JsonObject) o).getString("url"))
                .toList(), "no forged, stale, altered, or badly addressed announcement added a worker");
        assertTrue(f.get("/metrics", null).bodyAsString().contains("tandem_bus_rejected_total{reason=\"replay\"}"));
        assertTrue(MetricsSetup.registry().find(Meters.BUS_REJECTED).counters().size() >= 4);
    }

    private static JsonObject announcement(MockWorker w) {
        return new JsonObject().put("mode", "decode").put("registry_url", w.url()).putNull("bootstrap_port")
                .put("worker_id", "w-" + w.port());
    }
}
