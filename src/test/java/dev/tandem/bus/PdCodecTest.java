package dev.tandem.bus;

import dev.tandem.transfer.KvLayout;
import dev.tandem.transfer.KvPoll;
import dev.tandem.transfer.Messages;
import dev.tandem.transfer.SegmentDescriptor;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bootstrap messages survive the wire exactly, and decoding refuses, by field name, what another process sent wrong. */
class PdCodecTest {
    private static final SegmentDescriptor KV = new SegmentDescriptor("kv", "host-a", "/dev/shm/tandem-x", "10.0.0.2",
            41000, 1L << 20, "2049:77");
    private static final SegmentDescriptor AUX = new SegmentDescriptor("aux", "host-a", null, "10.0.0.2", 41000, 4096,
            null);

    /** Through the codec and the envelope's text form, as over the clustered bus. */
    private static JsonObject wire(JsonObject j) {
        return new JsonObject(j.encode());
    }

    @Test
    void everyMessageRoundTrips() {
        var reg = new Messages.KvArgsRegistration("10.0.0.2:30002", KV, new KvLayout(4, 65536, 2048), AUX, 32, 0, 1, "inc-1");
        assertEquals(reg, PdCodec.register(wire(PdCodec.register(reg))));
        var info = new Messages.TransferInfo(Long.MAX_VALUE, "10.0.0.2:30002", new int[] {3, 1, 2}, 7, 1, "inc-1");
        var back = PdCodec.info(wire(PdCodec.info(info)));
        assertEquals(info.room(), back.room());
        assertArrayEquals(info.dstPages(), back.dstPages());
        assertEquals(7, back.dstAuxIndex());
        var st = new Messages.TransferStatus(5, KvPoll.FAILED, 0, "gone");
        assertEquals(st, PdCodec.status(wire(PdCodec.status(st))));
        var ab = new Messages.AbortRoom(9, "client left");
        assertEquals(ab, PdCodec.abort(wire(PdCodec.abort(ab))));
    }

    @Test
    void nixlAgentMetadataRoundTripsAndIsCheckedByName() {
        var mem = new dev.tandem.transfer.AgentMemory("d1/7f3a", "AAECAw==", 0x7f00_0000_1000L, "BAUG");
        var kv = new SegmentDescriptor("kv", "host-a", null, "10.0.0.2", 0, 1L << 20, null, mem);
        var reg = new Messages.KvArgsRegistration("d1", kv, new KvLayout(4, 65536, 2048), AUX, 32, 0, 1, "inc-1");
        assertEquals(reg, PdCodec.register(wire(PdCodec.register(reg))));
        JsonObject j = PdCodec.register(reg);
        JsonObject nixl = j.getJsonObject("kv").getJsonObject("nixl");
        nixl.put("rkey", "not base64!");
        assertTrue(refusal(() -> PdCodec.register(wire(j))).startsWith("rkey:"));
        nixl.put("rkey", "A".repeat(20000));
        assertTrue(refusal(() -> PdCodec.register(wire(j))).startsWith("rkey:"));
        nixl.put("rkey", "BAUG").put("address", -1);
        assertTrue(refusal(() -> PdCodec.register(wire(j))).startsWith("address:"));
        nixl.put("address", 4096).remove("worker_address");
        assertTrue(refusal(() -> PdCodec.register(wire(j))).startsWith("worker_address:"));
        j.getJsonObject("kv").put("nixl", "agent");
        assertTrue(refusal(() -> PdCodec.register(wire(j))).startsWith("nixl:"));
    }

    private static String refusal(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void hostileFieldsAreRefusedByName() {
        JsonObject info = PdCodec.info(new Messages.TransferInfo(1, "d", new int[] {1}, 0, 1, "inc-1"));
        assertTrue(refusal(() -> PdCodec.info(new JsonObject(info.encode().replace("\"room\":1",
                "\"room\":18446744073709551617")))).startsWith("room:"), "a room past 2^63 is not truncated");
        assertTrue(refusal(() -> PdCodec.info(wire(info.copy().put("room", -1)))).startsWith("room:"));
        assertTrue(refusal(() -> PdCodec.info(wire(info.copy().put("room", "1")))).startsWith("room:"));
        assertTrue(refusal(() -> PdCodec.info(wire(info.copy().put("dst_pages", new JsonArray().add(-4)))))
                .startsWith("dst_pages[0]"));
        assertTrue(refusal(() -> PdCodec.info(wire(info.copy().put("dst_pages", new JsonArray().add(1.5)))))
                .startsWith("dst_pages[0]"));
        assertTrue(refusal(() -> PdCodec.info(wire(info.copy().put("dst_pages", "all")))).startsWith("dst_pages"));
        assertTrue(refusal(() -> PdCodec.info(wire(info.copy().putNull("decode_worker_id"))))
                .startsWith("decode_worker_id"));
        JsonObject reg = PdCodec.register(new Messages.KvArgsRegistration("d", KV, new KvLayout(4, 65536, 2048), AUX,
                32, 0, 1, "inc-1"));
        assertTrue(refusal(() -> PdCodec.register(wire(reg.copy().put("kv", "x")))).startsWith("kv:"));
        assertTrue(refusal(() -> PdCodec.register(wire(reg.copy().put("aux_slots", 0)))).startsWith("aux_slots"));
        JsonObject badPort = reg.copy();
        badPort.getJsonObject("kv").put("tcp_port", 70000);
        assertTrue(refusal(() -> PdCodec.register(wire(badPort))).startsWith("tcp_port"));
        JsonObject longName = reg.copy();
        longName.getJsonObject("kv").put("shm_path", "x".repeat(600));
        assertTrue(refusal(() -> PdCodec.register(wire(longName))).startsWith("shm_path"));
        assertTrue(refusal(() -> PdCodec.status(wire(PdCodec.status(new Messages.TransferStatus(1, KvPoll.SUCCESS, 0,
                null)).put("status", 9)))).startsWith("status"));
        assertEquals(512, PdCodec.abort(wire(new JsonObject().put("room", 1).put("reason", "r".repeat(5000))))
                .reason().length(), "a peer's reason text is bounded");
    }

    /** A heartbeat asks how its rooms ended; the reply carries frames C; both are refused when out of shape. */
    @Test
    void heartbeatsCarryRoomsAndOutcomes() {
        assertEquals(List.of(7L, 9L), PdCodec.pingRooms(wire(PdCodec.ping(List.of(7L, 9L)))));
        assertEquals(List.of(), PdCodec.pingRooms(new JsonObject().put("type", "ping")), "a plain ping");
        List<Messages.TransferStatus> st = List.of(new Messages.TransferStatus(7, KvPoll.SUCCESS, 0, null),
                new Messages.TransferStatus(9, KvPoll.FAILED, 0, "aborted"));
        assertEquals(st, PdCodec.statuses(wire(new JsonObject().put("statuses", PdCodec.statuses(st)))));
        assertTrue(refusal(() -> PdCodec.pingRooms(new JsonObject().put("rooms", new JsonArray()
                .add("x")))).startsWith("room"));
        JsonArray many = new JsonArray();
        for (int k = 0; k <= PdCodec.MAX_PING_ROOMS; k++) {
            many.add(k);
        }
        assertTrue(refusal(() -> PdCodec.pingRooms(new JsonObject().put("rooms", many))).startsWith("rooms"));
        assertTrue(refusal(() -> PdCodec.statuses(new JsonObject().put("statuses", "x"))).startsWith("statuses"));
    }
}
