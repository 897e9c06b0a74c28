package dev.tandem.transfer;

import dev.tandem.kvcache.KvPool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TransferEngineTest {
    private static final dev.tandem.config.ClusterSecret SECRET =
            dev.tandem.config.ClusterSecret.of("transfer-engine-test-secret".getBytes(), "test");

    static Path shmFile() {
        return Path.of("/dev/shm", "tandem-test-" + UUID.randomUUID() + ".kv");
    }

    private static void fill(KvPool pool, int seed) {
        MemorySegment s = pool.segment();
        for (long i = 0; i < s.byteSize() / 4; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, seed * 1_000_000f + i);
        }
    }

    @ParameterizedTest
    @EnumSource(value = MooncakeTransferEngine.Mode.class, names = {"SHM", "TCP"})
    void pagesLandExactlyWhereThePlanSays(MooncakeTransferEngine.Mode mode) {
        Path file = shmFile();
        try (MooncakeTransferEngine prefill = new MooncakeTransferEngine(mode, "127.0.0.1", SECRET);
             MooncakeTransferEngine decode = new MooncakeTransferEngine(mode, "127.0.0.1", SECRET);
             KvPool src = new KvPool(3, 10, 4, 2, 8);
             KvPool dst = new KvPool(3, 12, 4, 2, 8, file)) {
            fill(src, 1);
            fill(dst, 2);
            SegmentDescriptor d = decode.register("kv", dst.segment(), dst.file());
            assertEquals(mode == MooncakeTransferEngine.Mode.SHM ? "shm" : "tcp", prefill.transportFor(d));
            KvLayout srcLayout = new KvLayout(3, src.regionOffset(1, false), src.pageBytes());
            KvLayout dstLayout = new KvLayout(3, dst.regionOffset(1, false), dst.pageBytes());
            int[] srcPages = {2, 3, 4, 7, 0};
            int[] dstPages = {5, 6, 7, 8, 11};
            List<WriteOp> ops = PageCopyPlan.ops(src.segment(), srcLayout, srcPages, dstLayout, dstPages);
            assertEquals(3 * 3 * 2, ops.size(), "runs {2,3,4}->{5,6,7}, {7}->{8}, {0}->{11}, per layer and K/V");
            assertEquals(0, prefill.batchWrite(d, ops), prefill.lastError());
            for (int l = 0; l < 3; l++) {
                for (boolean v : new boolean[] {false, true}) {
                    for (int p = 0; p < 12; p++) {
                        int from = -1;
                        for (int i = 0; i < dstPages.length; i++) {
                            if (dstPages[i] == p) {
                                from = srcPages[i];
                            }
                        }
                        MemorySegment got = dst.segment().asSlice(dstLayout.offset(l, v, p), dst.pageBytes());
                        MemorySegment want = from >= 0
                                ? src.segment().asSlice(srcLayout.offset(l, v, from), src.pageBytes())
                                : null;
                        if (want != null) {
                            assertEquals(-1, got.mismatch(want), "layer " + l + (v ? " V" : " K") + " page " + p);
                        } else {
                            // untouched pages keep the decode side's own values
                            assertEquals(2 * 1_000_000f + dstLayout.offset(l, v, p) / 4f,
                                    got.get(ValueLayout.JAVA_FLOAT, 0), "untouched page " + p);
                        }
                    }
                }
            }
        }
        assertFalse(Files.exists(file), "the pool deletes its /dev/shm file on close");
    }

    @Test
    void autoPicksShmOnOneHostAndTcpWithoutAFile() {
        try (MooncakeTransferEngine a = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.AUTO, "127.0.0.1", SECRET);
             MooncakeTransferEngine b = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.AUTO, "127.0.0.1", SECRET);
             KvPool shared = new KvPool(1, 2, 2, 1, 4, shmFile());
             KvPool plain = new KvPool(1, 2, 2, 1, 4)) {
            assertEquals("shm", a.transportFor(b.register("shared", shared.segment(), shared.file())));
            assertEquals("tcp", a.transportFor(b.register("plain", plain.segment(), null)));
        }
    }

    @ParameterizedTest
    @EnumSource(value = MooncakeTransferEngine.Mode.class, names = {"SHM", "TCP"})
    void outOfBoundsAndUnknownSegmentsFailCleanlyAndTheEngineRecovers(MooncakeTransferEngine.Mode mode) {
        try (MooncakeTransferEngine a = new MooncakeTransferEngine(mode, "127.0.0.1", SECRET);
             MooncakeTransferEngine b = new MooncakeTransferEngine(mode, "127.0.0.1", SECRET);
             KvPool dst = new KvPool(1, 2, 2, 1, 4, shmFile());
             Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(64);
            SegmentDescriptor d = b.register("kv", dst.segment(), dst.file());
            assertTrue(a.batchWrite(d, List.of(new WriteOp(src, 0, dst.segment().byteSize() - 8, 64))) < 0);
            assertTrue(a.lastError().contains("kv"), a.lastError());
            if (mode == MooncakeTransferEngine.Mode.TCP) {
                SegmentDescriptor ghost = new SegmentDescriptor("ghost", d.hostId(), null, d.tcpHost(), d.tcpPort(), 64);
                assertTrue(a.batchWrite(ghost, List.of(new WriteOp(src, 0, 0, 64))) < 0);
            }
            src.fill((byte) 7);
            assertEquals(0, a.batchWrite(d, List.of(new WriteOp(src, 0, 0, 64))), a.lastError());
            assertEquals((byte) 7, dst.segment().get(ValueLayout.JAVA_BYTE, 63));
        }
    }

    @Test
    void aBatchBeyondTheServersOpBoundIsSentInPieces() {
        try (MooncakeTransferEngine a = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.TCP, "127.0.0.1", SECRET);
             MooncakeTransferEngine b = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.TCP, "127.0.0.1", SECRET);
             Arena arena = Arena.ofShared()) {
            MemorySegment dst = arena.allocate(128);
            MemorySegment src = arena.allocate(64);
            src.fill((byte) 3);
            SegmentDescriptor d = b.register("kv", dst, null);
            List<WriteOp> ops = new java.util.ArrayList<>(TcpWireFormat.MAX_OPS + 1);
            for (int i = 0; i < TcpWireFormat.MAX_OPS; i++) {
                ops.add(new WriteOp(src, 0, 0, 0));
            }
            ops.add(new WriteOp(src, 0, 64, 64)); // the first op past the bound
            assertEquals(0, a.batchWrite(d, ops), a.lastError());
            assertEquals(-1, dst.asSlice(64).mismatch(src), "the op of the second piece landed");
            assertEquals(0, b.server().rejectedTotal(), "no piece broke the server's bound");
        }
    }

    @Test
    void pollStatusOnlyRisesAndFailedWins() {
        assertEquals(KvPoll.WAITING_FOR_INPUT, KvPoll.merge(KvPoll.BOOTSTRAPPING, KvPoll.WAITING_FOR_INPUT));
        assertEquals(KvPoll.WAITING_FOR_INPUT, KvPoll.merge(KvPoll.WAITING_FOR_INPUT, KvPoll.BOOTSTRAPPING));
        assertEquals(KvPoll.FAILED, KvPoll.merge(KvPoll.SUCCESS, KvPoll.FAILED));
        assertEquals(KvPoll.FAILED, KvPoll.merge(KvPoll.FAILED, KvPoll.SUCCESS));
        assertEquals(List.of(0, 1, 2, 3, 4), java.util.Arrays.stream(KvPoll.values()).map(KvPoll::value).toList());
    }
}
