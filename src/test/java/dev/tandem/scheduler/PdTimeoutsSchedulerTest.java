package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.transfer.AuxBuffers;
import dev.tandem.transfer.Bootstrap;
import dev.tandem.transfer.KvLayout;
import dev.tandem.transfer.KvReceiverManager;
import dev.tandem.transfer.KvSenderManager;
import dev.tandem.transfer.Messages;
import dev.tandem.transfer.ScriptedTransferEngine;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.transfer.TransferObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The prefill and decode schedulers as state machines under a manual clock: step by step, no HTTP, no sleeping. A
 * prefill room whose destination never comes fails exactly when the bootstrap timeout passes, not a step before; a
 * decode room whose KV never comes fails at the waiting timeout (its client answered at once), tells the prefill side,
 * and keeps its pages until that side confirms nothing of the room is in flight. Pages come back to where they started.
 */
@Timeout(60)
class PdTimeoutsSchedulerTest {
    private static final long SECOND = 1_000_000_000L;
    private static TinyEngine engine;
    private static Model model;

    @BeforeAll
    static void load() {
        engine = new TinyEngine();
        model = engine.model;
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static SchedulerRequest request(String rid, long room, Map<String, FinishReason> done) {
        int[] ids = new int[40];
        ids[0] = 508;
        for (int i = 1; i < ids.length; i++) {
            ids[i] = (i * 11) % 400 + 20;
        }
        return new SchedulerRequest(rid, ids, SamplingParams.greedy(4), false, -1, 0, List.of(), out -> {
            if (out.finish() != null) {
                done.put(rid, out.finish());
            }
        }, new Bootstrap("10.0.0.9", 8998, room));
    }

    @Test
    void aPrefillRoomWithoutADestinationFailsExactlyAtTheBootstrapTimeout() {
        AtomicLong now = new AtomicLong(0);
        Map<String, FinishReason> done = new ConcurrentHashMap<>();
        try (Arena arena = Arena.ofShared(); PagedKvCache kv = model.newKvCache(16, 4096, 8, 2048)) {
            int freeAtStart = kv.allocator().freePages();
            AuxBuffers aux = new AuxBuffers(arena.allocate(AuxBuffers.bytesFor(8)), 8);
            KvSenderManager senders = new KvSenderManager(new ScriptedTransferEngine((r, ops) -> 0, () -> { }),
                    kv.pool(), aux, (id, st) -> { }, 10 * SECOND, 0, 1, TransferObserver.NONE, now::get);
            try {
                PrefillScheduler s = new PrefillScheduler(model.transformer(), kv, engine.tokenizer,
                        model.config().eosTokenIds(), new SchedulerConfig(8, 4096, 256, 2048, 16, false), senders, aux,
                        SchedulerObserver.NONE);
                s.submit(request("lonely", 1, done));
                for (long t : new long[] {0, SECOND, 10 * SECOND}) { // at the timeout, not yet past it
                    now.set(t);
                    s.step();
                    assertFalse(done.containsKey("lonely"), "still bootstrapping at " + t / SECOND + " s");
                }
                now.set(10 * SECOND + 1);
                s.step();
                FinishReason f = done.get("lonely");
                assertTrue(f != null && f.isAbort(), String.valueOf(f));
                assertTrue(f.message().contains("timed out after 10s in KVPoll.Bootstrapping"), f.message());
                assertFalse(s.hasWork());
                assertEquals(freeAtStart, kv.allocator().freePages() + s.stats().cachedPages());
                assertEquals(0, senders.activeRooms());
            } finally {
                senders.close();
            }
        }
    }

    @Test
    void aDecodeRoomWithoutItsKvFailsAtTheWaitingTimeoutAndKeepsItsPagesUntilThePrefillSideConfirms() {
        AtomicLong now = new AtomicLong(SECOND); // the clock reads 1 s when the room's pages are handed over
        Map<String, FinishReason> done = new ConcurrentHashMap<>();
        List<Long> aborts = new CopyOnWriteArrayList<>();
        CompletableFuture<Boolean> ack = new CompletableFuture<>();
        KvReceiverManager.BootstrapClient prefill = new KvReceiverManager.BootstrapClient() {
            @Override
            public CompletionStage<String> register(String address, Messages.KvArgsRegistration registration) {
                return CompletableFuture.completedFuture("p1");
            }

            @Override
            public CompletionStage<String> sendTransferInfo(String address, Messages.TransferInfo info) {
                return CompletableFuture.completedFuture("p1"); // taken, then nothing ever arrives
            }

            @Override
            public CompletionStage<Boolean> abortRoom(String address, Messages.AbortRoom abort) {
                aborts.add(abort.room());
                return ack;
            }
        };
        try (Arena arena = Arena.ofShared(); PagedKvCache kv = model.newKvCache(16, 4096, 8, 2048)) {
            int freeAtStart = kv.allocator().freePages();
            AuxBuffers aux = new AuxBuffers(arena.allocate(AuxBuffers.bytesFor(8)), 8);
            SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "10.0.0.8", 1, 1L << 30, null);
            KvLayout layout = new KvLayout(kv.pool().numLayers(), kv.pool().regionOffset(1, false),
                    kv.pool().pageBytes());
            KvReceiverManager receivers = new KvReceiverManager(new Messages.KvArgsRegistration("d0", d, layout, d, 8,
                    0, 1, "d1"), prefill, 10 * SECOND, 0, now::get);
            DecodeScheduler s = new DecodeScheduler(model.transformer(), kv, engine.tokenizer,
                    model.config().eosTokenIds(), new SchedulerConfig(8, 4096, 256, 2048, 16, false), receivers, aux, 64,
                    8998, SchedulerObserver.NONE);
            s.submit(request("starved", 7, done));
            for (int i = 0; i < 3; i++) {
                s.step();
            }
            assertTrue(kv.allocator().freePages() < freeAtStart, "its destination pages are reserved");
            now.set(11 * SECOND);
            s.step();
            assertEquals(List.of(), aborts, "not before the timeout");
            now.set(11 * SECOND + 1);
            s.step();
            assertEquals(List.of(7L), aborts, "the prefill side is told");
            FinishReason f = done.get("starved");
            assertTrue(f != null && f.isAbort(), "the client is answered at once: " + f);
            assertTrue(f.message().contains("timed out after 10s waiting for its KV cache"), f.message());
            for (int i = 0; i < 3; i++) {
                now.addAndGet(SECOND);
                s.step();
            }
            assertTrue(s.hasWork());
            assertTrue(kv.allocator().freePages() < freeAtStart, "its pages stay reserved: a push may be in flight");
            ack.complete(true); // nothing of the room is in flight there
            s.step();
            assertFalse(s.hasWork());
            assertEquals(freeAtStart, kv.allocator().freePages());
            assertEquals(List.of(7L), aborts, "told once");
        }
    }
}
