package dev.tandem.transfer.nixl;

import dev.tandem.config.ClusterSecret;
import dev.tandem.transfer.MooncakeTransferEngine;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.transfer.WriteOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two agents in one process, as a prefill and a decode worker in one JVM: descriptor lists land byte for byte,
 * notifications arrive after the data and complete a room only when every chunk and the aux row came, forged ones
 * are dropped, failures become a negative result with a reason, and closing gives back every native object.
 */
class NixlTransferEngineTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("nixl-test-secret-0123456789abcdef"
            .getBytes(StandardCharsets.UTF_8), "test");

    @BeforeEach
    void ucx() {
        UcxAssume.ucx();
    }

    private static MemorySegment pattern(Arena arena, long bytes, int seed) {
        MemorySegment s = arena.allocate(bytes, 4096);
        fill(s, seed);
        return s;
    }

    /** A seeded pattern over the whole of {@code s}: landed bytes are compared with it, byte for byte. */
    static void fill(MemorySegment s, int seed) {
        for (long i = 0; i < s.byteSize() / 4; i++) {
            s.setAtIndex(ValueLayout.JAVA_INT, i, (int) (i * 2654435761L) ^ seed);
        }
    }

    static void awaitTrue(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        dev.tandem.Await.until(what, java.time.Duration.ofSeconds(10), c);
    }

    @Test
    void descriptorListsLandExactlyAndTheRoomIsDeliveredAfterItsLastChunkAndAux() throws Exception {
        Live.Counts before = Live.now();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = pattern(arena, 1 << 20, 7);
            MemorySegment dst = arena.allocate(1 << 20, 4096);
            MemorySegment srcAux = pattern(arena, 4096, 9);
            MemorySegment dstAux = arena.allocate(4096, 64);
            List<Long> delivered = new CopyOnWriteArrayList<>();
            try (NixlTransferEngine prefill = new NixlTransferEngine("127.0.0.1", SECRET);
                 NixlTransferEngine decode = new NixlTransferEngine("127.0.0.1", SECRET)) {
                decode.onDelivered(delivered::add);
                prefill.register("kv", src, null);
                SegmentDescriptor kv = decode.register("kv", dst, null);
                SegmentDescriptor aux = decode.register("aux", dstAux, null);
                prefill.accept(kv);
                // chunk 0: two runs; chunk 1 (last): one run; then the aux row
                assertEquals(0, prefill.batchWrite(kv, List.of(new WriteOp(src, 0, 4096, 8192),
                        new WriteOp(src, 65536, 131072, 4096)), "77_kv_0_0"), prefill.lastError());
                assertEquals(0, prefill.batchWrite(kv, List.of(new WriteOp(src, 500_000, 600_000, 300_000)),
                        "77_kv_1_1"), prefill.lastError());
                assertEquals(List.of(), delivered, "no aux yet: the room is not complete");
                assertEquals(1, decode.pendingNotifiedRooms());
                assertEquals(0, prefill.batchWrite(aux, List.of(new WriteOp(srcAux, 64, 128, 64)), "77_aux"));
                awaitTrue(() -> delivered.equals(List.of(77L)), "room 77 delivered");
                assertEquals(0, decode.pendingNotifiedRooms());
                assertEquals(-1, dst.asSlice(4096, 8192).mismatch(src.asSlice(0, 8192)));
                assertEquals(-1, dst.asSlice(131072, 4096).mismatch(src.asSlice(65536, 4096)));
                assertEquals(-1, dst.asSlice(600_000, 300_000).mismatch(src.asSlice(500_000, 300_000)));
                assertEquals(0L, dst.get(ValueLayout.JAVA_LONG, 0), "bytes outside the descriptors are untouched");
                assertEquals(0L, dst.get(ValueLayout.JAVA_LONG, 600_000 + 300_000));
                assertEquals(-1, dstAux.asSlice(128, 64).mismatch(srcAux.asSlice(64, 64)));

                // an empty last chunk still notifies: a room whose pages all went earlier completes
                assertEquals(0, prefill.batchWrite(kv, List.of(new WriteOp(src, 0, 0, 4096)), "78_kv_0_0"));
                assertEquals(0, prefill.batchWrite(kv, List.of(), "78_kv_1_1"));
                assertEquals(0, prefill.batchWrite(aux, List.of(new WriteOp(srcAux, 0, 0, 64)), "78_aux"));
                awaitTrue(() -> delivered.equals(List.of(77L, 78L)), "room 78 delivered");

                assertEquals(1, prefill.agent().peerCount().get(5, TimeUnit.SECONDS));
                UcxAssume.assertSharedMemory(prefill.lanes(kv));
                Live.Counts open = Live.now();
                assertEquals(before.contexts() + 2, open.contexts());
                assertEquals(before.workers() + 2, open.workers());
                assertEquals(before.registrations() + 3, open.registrations());
                assertEquals(before.endpoints() + 1, open.endpoints());
                // one unpacked key per distinct packed key (regions on shared-memory transports may pack alike)
                assertEquals(before.remoteKeys() + (kv.nixl().rkey().equals(aux.nixl().rkey()) ? 1 : 2),
                        open.remoteKeys());
                assertEquals(before.transfers(), open.transfers(), "no transfer left in flight");
                prefill.forgetPeer(kv);
                assertEquals(0, prefill.agent().peerCount().get(5, TimeUnit.SECONDS));
                assertEquals(before.endpoints(), Live.now().endpoints());
                assertEquals(before.remoteKeys(), Live.now().remoteKeys());
            }
            assertEquals(before, Live.now(), "closing both agents released every native object");
        }
    }

    /**
     * Transfers run on the threads that post them, under the agent's lock ({@link Driver}): several threads writing
     * (or asking to read) through one agent at once each get their own bytes and notifications, and a decode agent
     * that slept on its event fd in between (idle far longer than its spin) still hears every notification.
     */
    @Test
    void threadsDrivingTheirOwnTransfersThroughOneAgentAtOnceEachLandExactly() throws Exception {
        for (NixlTransferEngine.Mode mode : NixlTransferEngine.Mode.values()) {
            Live.Counts before = Live.now();
            int threads = 4;
            int rounds = 10;
            long slice = 64 * 1024;
            try (Arena arena = Arena.ofShared()) {
                MemorySegment src = pattern(arena, threads * rounds * slice, 21);
                MemorySegment dst = arena.allocate(threads * rounds * slice, 4096);
                MemorySegment dstAux = arena.allocate(4096, 64);
                List<Long> delivered = new CopyOnWriteArrayList<>();
                try (NixlTransferEngine prefill = new NixlTransferEngine("127.0.0.1", SECRET,
                        NixlTransferEngine.DEFAULT_DEADLINE_NANOS, null, mode);
                     NixlTransferEngine decode = new NixlTransferEngine("127.0.0.1", SECRET)) {
                    decode.onDelivered(delivered::add);
                    SegmentDescriptor kv = decode.register("kv", dst, null);
                    SegmentDescriptor aux = decode.register("aux", dstAux, null);
                    Thread.sleep(200); // the decode agent is asleep on its event fd now (it spins 0.5 ms at most)
                    List<String> errors = new CopyOnWriteArrayList<>();
                    List<Thread> workers = new ArrayList<>();
                    for (int t = 0; t < threads; t++) {
                        int id = t;
                        workers.add(Thread.ofPlatform().start(() -> {
                            for (int r = 0; r < rounds; r++) {
                                long room = id * 100L + r;
                                long off = (id * rounds + r) * slice;
                                if (prefill.batchWrite(kv, List.of(new WriteOp(src, off, off, slice)),
                                        room + "_kv_0_1") != 0
                                        || prefill.batchWrite(aux, List.of(new WriteOp(src, off, 64 * id, 64)),
                                        room + "_aux") != 0) {
                                    errors.add(room + ": " + prefill.lastError());
                                }
                            }
                        }));
                    }
                    for (Thread w : workers) {
                        w.join(TimeUnit.SECONDS.toMillis(60));
                        assertTrue(!w.isAlive(), mode + ": a transfer thread did not finish");
                    }
                    assertEquals(List.of(), errors, mode.toString());
                    awaitTrue(() -> delivered.size() == threads * rounds, mode + ": every room delivered");
                    assertEquals(threads * rounds, new java.util.HashSet<>(delivered).size(), "each room once");
                    assertEquals(-1, dst.mismatch(src), mode + ": every slice landed where its thread put it");
                    assertEquals(before.transfers(), Live.now().transfers(), "no transfer left in flight");
                }
                assertEquals(before, Live.now(), mode + ": closing both agents released every native object");
            }
        }
    }

    @Test
    void pullModeTheDecodeAgentReadsTheDescriptorListAndNotifiesItself() throws Exception {
        Live.Counts before = Live.now();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = pattern(arena, 1 << 20, 11);
            MemorySegment dst = arena.allocate(1 << 20, 4096);
            MemorySegment srcAux = pattern(arena, 4096, 12);
            MemorySegment dstAux = arena.allocate(4096, 64);
            List<Long> delivered = new CopyOnWriteArrayList<>();
            try (NixlTransferEngine prefill = new NixlTransferEngine("127.0.0.1", SECRET,
                    NixlTransferEngine.DEFAULT_DEADLINE_NANOS, null, NixlTransferEngine.Mode.PULL);
                 NixlTransferEngine decode = new NixlTransferEngine("127.0.0.1", SECRET)) {
                decode.onDelivered(delivered::add);
                SegmentDescriptor kv = decode.register("kv", dst, null);
                SegmentDescriptor aux = decode.register("aux", dstAux, null);
                assertEquals(0, prefill.batchWrite(kv, List.of(new WriteOp(src, 8192, 0, 4096),
                        new WriteOp(src, 100_000, 200_000, 50_000)), "9_kv_0_0"), prefill.lastError());
                assertEquals(0, prefill.batchWrite(kv, List.of(), "9_kv_1_1"), prefill.lastError());
                assertEquals(0, prefill.batchWrite(aux, List.of(new WriteOp(srcAux, 0, 64, 64)), "9_aux"));
                awaitTrue(() -> delivered.equals(List.of(9L)), "room 9 delivered");
                assertEquals(-1, dst.asSlice(0, 4096).mismatch(src.asSlice(8192, 4096)));
                assertEquals(-1, dst.asSlice(200_000, 50_000).mismatch(src.asSlice(100_000, 50_000)));
                assertEquals(0L, dst.get(ValueLayout.JAVA_LONG, 4096), "bytes outside the descriptors are untouched");
                assertEquals(-1, dstAux.asSlice(64, 64).mismatch(srcAux.asSlice(0, 64)));
                // the reader refuses a descriptor outside its region, and the requester hears why
                assertEquals(-1, prefill.batchWrite(new SegmentDescriptor("kv", "h", null, "127.0.0.1", 0, 1L << 30,
                        null, kv.nixl()), List.of(new WriteOp(src, 0, (1 << 20) - 8, 64)), "10_kv_0_1"));
                assertTrue(prefill.lastError().contains("outside region 'kv'"), prefill.lastError());
                UcxAssume.assertSharedMemory(decode.agent().lanes(prefill.agent().name(), false).get(5, TimeUnit.SECONDS));
                assertEquals(before.transfers(), Live.now().transfers(), "no transfer left in flight");
            }
            assertEquals(before, Live.now(), "closing both agents released every native object");
        }
    }

    @Test
    void notificationsSignedWithAnotherSecretAreDroppedAndOutOfBoundsWritesRefused() throws Exception {
        try (Arena arena = Arena.ofShared();
             NixlTransferEngine decode = new NixlTransferEngine("127.0.0.1", SECRET);
             NixlTransferEngine stranger = new NixlTransferEngine("127.0.0.1", ClusterSecret.of(
                     "another-secret-0123456789abcdef!".getBytes(StandardCharsets.UTF_8), "test"))) {
            MemorySegment src = pattern(arena, 8192, 3);
            SegmentDescriptor kv = decode.register("kv", arena.allocate(8192, 4096), null);
            List<Long> delivered = new CopyOnWriteArrayList<>();
            decode.onDelivered(delivered::add);
            assertEquals(0, stranger.batchWrite(kv, List.of(), "5_kv_0_1"));
            assertEquals(0, stranger.batchWrite(kv, List.of(), "5_aux"));
            awaitTrue(() -> decode.agent().rejectedNotifications() == 2, "both forged notifications dropped");
            assertEquals(List.of(), delivered);
            assertEquals(0, decode.pendingNotifiedRooms());

            assertEquals(-1, stranger.batchWrite(kv, List.of(new WriteOp(src, 0, 4096, 8192)), "6_kv_0_1"));
            assertTrue(stranger.lastError().contains("outside its 8192 bytes"), stranger.lastError());
        }
    }

    @Test
    void aWriteToAnAgentThatClosedFailsWithAReasonInsteadOfThrowing() throws Exception {
        Live.Counts before = Live.now();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = pattern(arena, 65536, 1);
            MemorySegment dst = arena.allocate(65536, 4096);
            try (NixlTransferEngine prefill = new NixlTransferEngine("127.0.0.1", SECRET,
                    TimeUnit.SECONDS.toNanos(3))) {
                SegmentDescriptor kv;
                try (NixlTransferEngine decode = new NixlTransferEngine("127.0.0.1", SECRET)) {
                    kv = decode.register("kv", dst, null);
                    assertEquals(0, prefill.batchWrite(kv, List.of(new WriteOp(src, 0, 0, 65536)), "1_kv_0_1"));
                }
                List<Integer> results = new ArrayList<>();
                for (int i = 0; i < 3; i++) { // the dead peer's connection is dropped and retried: fails each time
                    results.add(prefill.batchWrite(kv, List.of(new WriteOp(src, 0, 0, 65536)), "2_kv_" + i + "_0"));
                }
                assertEquals(List.of(-1, -1, -1), results, prefill.lastError());
                assertTrue(prefill.lastError().startsWith("nixl WRITE to agent " + kv.nixl().agent()),
                        prefill.lastError());
                assertEquals(before.transfers(), Live.now().transfers());
            }
            assertEquals(before, Live.now());
        }
    }

    @Test
    void backendsRefuseEachOthersRegistrationsNamingBoth() throws Exception {
        try (Arena arena = Arena.ofShared();
             NixlTransferEngine nixl = new NixlTransferEngine("127.0.0.1", SECRET);
             MooncakeTransferEngine mooncake = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.TCP,
                     "127.0.0.1", SECRET)) {
            SegmentDescriptor nixlKv = nixl.register("kv", arena.allocate(4096, 4096), null);
            SegmentDescriptor mooncakeKv = mooncake.register("kv", arena.allocate(4096, 4096), null);
            String a = assertThrows(IllegalArgumentException.class, () -> mooncake.accept(nixlKv)).getMessage();
            assertTrue(a.contains("transfer backend mismatch") && a.contains("nixl") && a.contains("mooncake"), a);
            String b = assertThrows(IllegalArgumentException.class, () -> nixl.accept(mooncakeKv)).getMessage();
            assertTrue(b.contains("transfer backend mismatch") && b.contains("nixl") && b.contains("mooncake"), b);
            nixl.accept(nixlKv);
            mooncake.accept(mooncakeKv);
        }
    }
}
