package dev.tandem.transfer.nixl;

import dev.tandem.config.ClusterSecret;
import dev.tandem.config.KvDtype;
import dev.tandem.kvcache.KvMemory;
import dev.tandem.kvcache.KvPool;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.transfer.WriteOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.tandem.transfer.nixl.NixlTransferEngineTest.awaitTrue;
import static dev.tandem.transfer.nixl.NixlTransferEngineTest.fill;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KV pools in memory the nixl engine's UCX allocated ({@code kvMemory()}): registering one maps nothing new, a
 * same-host put or get to it takes a sysv/posix RMA lane (where memory UCX only registered gets emulated puts), the
 * bytes land exactly, and the pool gives its memory back on close ({@link Live} allocations back to their start),
 * also when the engine closed first.
 */
class UcxPoolMemoryTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("nixl-test-secret-0123456789abcdef"
            .getBytes(StandardCharsets.UTF_8), "test");

    @BeforeEach
    void ucx() {
        UcxAssume.ucx();
    }

    private static KvPool pool(KvMemory memory) {
        return new KvPool(memory, 2, 8, 4, 2, 32, KvDtype.FLOAT32); // 2 layers x (K,V) x 8 pages x 1 KB
    }

    @Test
    void pushIntoAPoolUcxAllocatedTakesASharedMemoryRmaLaneAndThePoolGivesItsMemoryBack() throws Exception {
        Live.Counts before = Live.now();
        List<Long> delivered = new CopyOnWriteArrayList<>();
        try (Arena arena = Arena.ofShared();
             NixlTransferEngine prefill = new NixlTransferEngine("127.0.0.1", SECRET);
             NixlTransferEngine decode = new NixlTransferEngine("127.0.0.1", SECRET)) {
            decode.onDelivered(delivered::add);
            try (KvPool src = pool(prefill.kvMemory()); KvPool dst = pool(decode.kvMemory())) {
                assertEquals(before.allocations() + 2, Live.now().allocations(), "both pools in UCX's memory");
                assertNull(dst.file());
                assertEquals(0L, dst.segment().get(ValueLayout.JAVA_LONG, dst.totalBytes() - 8), "zero-filled");
                fill(src.segment(), 5);
                SegmentDescriptor kv = decode.register("kv", dst.segment(), dst.file());
                assertEquals(before.registrations(), Live.now().registrations(),
                        "registering UCX's own memory maps nothing new: its key is the allocation's");
                long page = src.pageBytes();
                // pages 1..3 of layer 0's K and pages 5..6 of layer 1's V, as a chunk's descriptor list
                List<WriteOp> ops = List.of(new WriteOp(src.segment(), page, 2 * page, 3 * page),
                        new WriteOp(src.segment(), src.regionOffset(1, true) + 5 * page,
                                dst.regionOffset(1, true), 2 * page));
                assertEquals(0, prefill.batchWrite(kv, ops, "3_kv_0_1"), prefill.lastError());
                assertEquals(-1, dst.segment().asSlice(2 * page, 3 * page)
                        .mismatch(src.segment().asSlice(page, 3 * page)));
                assertEquals(-1, dst.segment().asSlice(dst.regionOffset(1, true), 2 * page)
                        .mismatch(src.segment().asSlice(src.regionOffset(1, true) + 5 * page, 2 * page)));
                assertEquals(0L, dst.segment().get(ValueLayout.JAVA_LONG, 0), "outside the descriptors: untouched");
                awaitTrue(() -> decode.pendingNotifiedRooms() == 1, "the notification after the data");
                UcxAssume.assertSharedMemory(prefill.lanes(kv));
                UcxAssume.assertRmaOnSharedMemory(prefill.lanes(kv), prefill.rmaPath(kv));

                // the contrast that makes the point: memory UCX only registered has no shared-memory key
                SegmentDescriptor user = decode.register("user", arena.allocate(4 * page, 4096), null);
                assertEquals(0, prefill.batchWrite(user, List.of(new WriteOp(src.segment(), 0, 0, page)), null));
                if (System.getenv("UCX_TLS") == null) {
                    assertEquals("am", prefill.rmaPath(user), "puts to registered user memory are emulated");
                }
            }
            assertEquals(before.allocations(), Live.now().allocations(), "closing the pools unmapped their memory");
        }
        assertEquals(before, Live.now(), "closing both agents released every native object");
    }

    @Test
    void pullFromAPoolUcxAllocatedReadsThroughASharedMemoryRmaLane() throws Exception {
        Live.Counts before = Live.now();
        List<Long> delivered = new CopyOnWriteArrayList<>();
        try (NixlTransferEngine prefill = new NixlTransferEngine("127.0.0.1", SECRET,
                NixlTransferEngine.DEFAULT_DEADLINE_NANOS, null, NixlTransferEngine.Mode.PULL);
             NixlTransferEngine decode = new NixlTransferEngine("127.0.0.1", SECRET);
             KvPool src = pool(prefill.kvMemory());
             KvPool dst = pool(decode.kvMemory());
             KvMemory.Block srcAux = prefill.kvMemory().allocate(4096);
             KvMemory.Block dstAux = decode.kvMemory().allocate(4096)) {
            decode.onDelivered(delivered::add);
            fill(src.segment(), 9);
            fill(srcAux.segment(), 10);
            SegmentDescriptor kv = decode.register("kv", dst.segment(), null);
            SegmentDescriptor aux = decode.register("aux", dstAux.segment(), null);
            long page = src.pageBytes();
            assertEquals(0, prefill.batchWrite(kv, List.of(new WriteOp(src.segment(), 0, 4 * page, 4 * page)),
                    "4_kv_0_1"), prefill.lastError());
            assertEquals(0, prefill.batchWrite(aux, List.of(new WriteOp(srcAux.segment(), 64, 128, 64)), "4_aux"),
                    prefill.lastError());
            awaitTrue(() -> delivered.equals(List.of(4L)), "room 4 delivered");
            assertEquals(-1, dst.segment().asSlice(4 * page, 4 * page).mismatch(src.segment().asSlice(0, 4 * page)));
            assertEquals(-1, dstAux.segment().asSlice(128, 64).mismatch(srcAux.segment().asSlice(64, 64)));
            assertEquals(before.registrations(), Live.now().registrations(),
                    "the source region, registered on first use, is UCX's allocation: nothing new mapped");
            assertEquals(before.allocations() + 4, Live.now().allocations());
            // the reader's connection to the prefill agent, and the key of the prefill pool it read from
            SegmentDescriptor source = prefill.register("src", src.segment(), null);
            String lanes = decode.agent().lanes(prefill.agent().name(), false).get(5, TimeUnit.SECONDS);
            UcxAssume.assertRmaOnSharedMemory(lanes, decode.rmaPath(source));
        }
        assertEquals(before, Live.now(), "pools, blocks and agents all released");
    }

    @Test
    void aPoolThatOutlivesItsEngineIsInvalidatedNotLeftPointingAtUnmappedMemory() {
        Live.Counts before = Live.now();
        KvPool orphan;
        try (NixlTransferEngine engine = new NixlTransferEngine("127.0.0.1", SECRET)) {
            orphan = pool(engine.kvMemory());
            orphan.segment().set(ValueLayout.JAVA_INT, 0, 42);
            assertEquals(before.allocations() + 1, Live.now().allocations());
        }
        assertEquals(before, Live.now(), "the agent unmapped what it had allocated");
        assertThrows(IllegalStateException.class, () -> orphan.segment().get(ValueLayout.JAVA_INT, 0),
                "the segment was invalidated before its memory was unmapped");
        orphan.close(); // harmless: the agent already gave the memory back
        assertEquals(before, Live.now());
    }
}
