package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;
import dev.tandem.kvcache.KvPool;
import dev.tandem.kvcache.ShmFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The prefill side releases a decode worker's mappings when that worker re-registers elsewhere or goes away, and keeps
 * only so many rooms aborted before their request came.
 */
@Timeout(60)
class KvSenderForgetTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("kv-sender-forget-test-secret".getBytes(), "test");

    @Test
    void aDecodeWorkersMappingsAreReleasedWhenItReRegistersOrGoesAway() throws Exception {
        try (MooncakeTransferEngine prefillEngine = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.SHM,
                "127.0.0.1", SECRET);
             MooncakeTransferEngine decodeEngine = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.SHM,
                     "127.0.0.1", SECRET);
             KvPool src = new KvPool(1, 4, 2, 1, 4);
             KvPool first = new KvPool(1, 4, 2, 1, 4, ShmFile.fresh("test", "kv"));
             KvPool second = new KvPool(1, 4, 2, 1, 4, ShmFile.fresh("test", "kv"));
             ShmFile auxFile = new ShmFile(ShmFile.fresh("test", "aux"), AuxBuffers.bytesFor(2));
             ShmFile localAux = new ShmFile(ShmFile.fresh("test", "aux"), AuxBuffers.bytesFor(2));
             KvSenderManager senders = new KvSenderManager(prefillEngine, src, new AuxBuffers(localAux.segment(), 2),
                     (id, st) -> { }, Duration.ofSeconds(30).toNanos(), 0, 2, TransferObserver.NONE)) {
            KvLayout layout = new KvLayout(1, src.regionOffset(1, false), src.pageBytes());
            SegmentDescriptor aux = decodeEngine.register("aux", auxFile.segment(), auxFile.path());
            SegmentDescriptor kv1 = decodeEngine.register("kv1", first.segment(), first.file());
            SegmentDescriptor kv2 = decodeEngine.register("kv2", second.segment(), second.file());
            senders.onRegistration(new Messages.KvArgsRegistration("d0", kv1, layout, aux, 2, 0, 1, "i0"));
            // what a transfer to d0 maps: its KV pool and its aux buffers
            List<WriteOp> page = PageCopyPlan.ops(src.segment(), layout, new int[] {0}, layout, new int[] {1});
            assertEquals(0, prefillEngine.batchWrite(kv1, page), prefillEngine.lastError());
            assertEquals(0, prefillEngine.batchWrite(aux, List.of()), prefillEngine.lastError());
            assertEquals(2, prefillEngine.liveShmMappings());

            senders.onRegistration(new Messages.KvArgsRegistration("d0", kv1, layout, aux, 2, 0, 1, "i0"));
            awaitMappings(prefillEngine, 2, "the same registration again releases nothing");
            senders.onRegistration(new Messages.KvArgsRegistration("d0", kv2, layout, aux, 2, 0, 1, "i0"));
            awaitMappings(prefillEngine, 1, "re-registered with another KV pool: the old pool's mapping is released");
            assertEquals(0, prefillEngine.batchWrite(kv2, page), prefillEngine.lastError());
            awaitMappings(prefillEngine, 2, "the new pool is mapped by the next write");
            senders.failDecodeWorker("d0", "gone");
            awaitMappings(prefillEngine, 0, "the worker went away: all its mappings are released");
        }
    }

    @Test
    void roomsAbortedBeforeTheirRequestAreKeptUpToABound() throws Exception {
        try (MooncakeTransferEngine engine = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.SHM, "127.0.0.1",
                SECRET);
             KvPool src = new KvPool(1, 4, 2, 1, 4);
             ShmFile localAux = new ShmFile(ShmFile.fresh("test", "aux"), AuxBuffers.bytesFor(2));
             KvSenderManager senders = new KvSenderManager(engine, src, new AuxBuffers(localAux.segment(), 2),
                     (id, st) -> { }, Duration.ofSeconds(30).toNanos(), 0, 2, TransferObserver.NONE)) {
            int n = KvSenderManager.MAX_EARLY_ABORTS + 1;
            for (long room = 1; room <= n; room++) {
                assertEquals(true, senders.onAbortRoom(new Messages.AbortRoom(room, "gone " + room)));
            }
            assertEquals(KvPoll.BOOTSTRAPPING, senders.create(1, false).status(),
                    "the oldest early abort was dropped: its request waits for its bootstrap timeout");
            assertEquals(KvPoll.FAILED, senders.create(2, false).status(), "the next one is still known");
            assertEquals(KvPoll.FAILED, senders.create(n, false).status(), "and the newest");
            assertEquals(KvPoll.BOOTSTRAPPING, senders.create(n + 1, false).status(), "never aborted");
        }
    }

    /** Forgetting runs on the transfer pool (callers are on an event loop): wait for it, with the test's timeout. */
    private static void awaitMappings(MooncakeTransferEngine engine, int expected, String why)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (engine.liveShmMappings() != expected && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Thread.sleep(50); // a wrong count would show up now, after the pool ran
        assertEquals(expected, engine.liveShmMappings(), why);
    }
}
