package dev.tandem.bus;

import dev.tandem.config.ClusterSecret;
import dev.tandem.metrics.Meters;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Each way a bus message can be forged, altered, redirected or replayed is refused with its reason, and counted. */
class BusSignerTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("bus-signer-test-secret".getBytes(), "test");
    private static final ClusterSecret OTHER = ClusterSecret.of("some-other-secret-bytes".getBytes(), "other");
    private static final String ADDR = BusAddresses.bootstrap("127.0.0.1:8998");

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final BusSigner sender = new BusSigner(SECRET, 60_000, now::get, null);
    private final BusSigner receiver = new BusSigner(SECRET, 60_000, now::get, meters);

    private String refusal(Runnable r) {
        return assertThrows(BusSigner.Rejected.class, r::run).reason();
    }

    private double count(String reason) {
        return meters.counter(Meters.BUS_REJECTED, "reason", reason).count();
    }

    @Test
    void aSealedMessageOpensOnceAtItsAddressOnly() {
        JsonObject body = new JsonObject().put("type", "info").put("room", 42L).put("dst_pages", new io.vertx.core.json.JsonArray().add(1));
        JsonObject env = sender.seal(ADDR, body);
        assertEquals(body, receiver.open(ADDR, env));
        assertEquals("replay", refusal(() -> receiver.open(ADDR, env)));
        JsonObject env2 = sender.seal(ADDR, body);
        assertEquals("bad_signature", refusal(() -> receiver.open(BusAddresses.bootstrap("127.0.0.1:8999"), env2)),
                "redirected to another prefill worker");
        assertEquals(1, count("replay"));
        assertEquals(1, count("bad_signature"));
    }

    @Test
    void forgedAlteredStaleAndMalformedEnvelopesAreRefused() {
        JsonObject body = new JsonObject().put("type", "abort").put("room", 7L);
        assertEquals("unsigned", refusal(() -> receiver.open(ADDR, body)));
        assertEquals("malformed", refusal(() -> receiver.open(ADDR, "not json")));
        assertEquals("bad_signature", refusal(() -> receiver.open(ADDR,
                new BusSigner(OTHER, 60_000, now::get, null).seal(ADDR, body))));
        JsonObject altered = sender.seal(ADDR, body);
        altered.put("payload", altered.getString("payload").replace("7", "8"));
        assertEquals("bad_signature", refusal(() -> receiver.open(ADDR, altered)));
        JsonObject retimed = sender.seal(ADDR, body);
        retimed.put("ts", retimed.getLong("ts") + 1);
        assertEquals("bad_signature", refusal(() -> receiver.open(ADDR, retimed)));
        JsonObject old = sender.seal(ADDR, body);
        now.addAndGet(60_001);
        assertEquals("stale", refusal(() -> receiver.open(ADDR, old)));
        JsonObject future = new BusSigner(SECRET, 60_000, () -> now.get() + 60_001, null).seal(ADDR, body);
        assertEquals("stale", refusal(() -> receiver.open(ADDR, future)));
        JsonObject badMac = sender.seal(ADDR, body).put("mac", "%%%");
        assertEquals("malformed", refusal(() -> receiver.open(ADDR, badMac)));
        assertEquals(8, count("unsigned") + count("malformed") + count("bad_signature") + count("stale"));
    }

    @Test
    void aReplyOpensOnlyForTheRequestItAnswers() {
        JsonObject request = sender.seal(ADDR, new JsonObject().put("type", "ping"));
        JsonObject other = sender.seal(ADDR, new JsonObject().put("type", "ping"));
        JsonObject reply = receiver.sealReply(request, new JsonObject().put("ok", true));
        assertEquals("bad_signature", refusal(() -> sender.openReply(other, reply)));
        assertEquals(new JsonObject().put("ok", true), sender.openReply(request, reply));
    }

    @Test
    void binaryMessagesCoverTheirHeadersAndBody() {
        byte[] body = {1, 2, 3, 4};
        DeliveryOptions o = sender.signBytes(BusAddresses.KV_EVENTS,
                new DeliveryOptions().addHeader("worker", "http://127.0.0.1:1").addHeader("seq", "3"), body);
        MultiMap h = o.getHeaders();
        receiver.verifyBytes(BusAddresses.KV_EVENTS, h, body);
        assertEquals("replay", refusal(() -> receiver.verifyBytes(BusAddresses.KV_EVENTS, h, body)));
        DeliveryOptions o2 = sender.signBytes(BusAddresses.KV_EVENTS,
                new DeliveryOptions().addHeader("worker", "http://127.0.0.1:1").addHeader("seq", "4"), body);
        MultiMap moved = MultiMap.caseInsensitiveMultiMap().addAll(o2.getHeaders()).set("worker", "http://evil:1");
        assertEquals("bad_signature", refusal(() -> receiver.verifyBytes(BusAddresses.KV_EVENTS, moved, body)));
        assertEquals("bad_signature", refusal(() -> receiver.verifyBytes(BusAddresses.KV_EVENTS, o2.getHeaders(),
                new byte[] {1, 2, 3, 5})));
        assertEquals("unsigned", refusal(() -> receiver.verifyBytes(BusAddresses.KV_EVENTS,
                MultiMap.caseInsensitiveMultiMap().add("seq", "1"), body)));
    }

    @Test
    void registryRecordsVerifyUnderTheirKindOnly() {
        JsonObject entry = new JsonObject().put("mode", "prefill").put("url", "http://127.0.0.1:30001");
        JsonObject rec = sender.signRecord("registry:prefill http://127.0.0.1:30001", entry);
        assertEquals(entry, receiver.openRecord("registry:prefill http://127.0.0.1:30001", rec));
        assertEquals("bad_signature", refusal(() -> receiver.openRecord("registry:decode http://127.0.0.1:30001", rec)));
        assertEquals("unsigned", refusal(() -> receiver.openRecord("registry:x", entry)));
    }
}
