package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.tokenizer.TextTokenizer;
import dev.tandem.transfer.AuxBuffers;
import dev.tandem.transfer.Bootstrap;
import dev.tandem.transfer.KvLayout;
import dev.tandem.transfer.KvSenderManager;
import dev.tandem.transfer.Messages;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.transfer.ScriptedTransferEngine;
import dev.tandem.transfer.TransferObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code abort_all} on a prefill worker with rooms in every state (bootstrapping, waiting, and in flight with a push
 * stuck on a peer that stopped reading) returns without waiting for the stuck push, the loop keeps stepping, and
 * every page comes back once the push returns. Driven step by step with a transfer engine whose writes block until
 * the test lets them go: if abortAll joined the push, this test would never release it and would time out.
 */
@Timeout(60)
class PrefillAbortAllTest {
    private static TinyEngine engine;
    private static Model model;
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        engine = new TinyEngine();
        model = engine.model;
        tokenizer = engine.tokenizer;
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    /** A peer that stopped reading: each write blocks until {@code release}. */
    private static ScriptedTransferEngine stuck(CountDownLatch entered, CountDownLatch release) {
        return new ScriptedTransferEngine((remote, ops) -> {
            entered.countDown();
            try {
                return release.await(30, TimeUnit.SECONDS) ? 0 : -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }, release::countDown);
    }

    private static SchedulerRequest request(String rid, long room, int len, Map<String, Boolean> done) {
        int[] ids = new int[len];
        ids[0] = 508;
        for (int i = 1; i < len; i++) {
            ids[i] = (i * 7) % 400 + 20;
        }
        return new SchedulerRequest(rid, ids, SamplingParams.greedy(1), false, -1, 0, List.of(), out -> {
            if (out.finish() != null) {
                done.put(rid, out.finish().isAbort());
            }
        }, new Bootstrap("10.0.0.9", 8998, room));
    }

    @Test
    void abortAllReturnsPromptlyWithAPushStuckAndEveryPageComesBack() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ScriptedTransferEngine engine = stuck(entered, release);
        Map<String, Boolean> done = new ConcurrentHashMap<>();
        try (Arena arena = Arena.ofShared(); PagedKvCache kv = model.newKvCache(16, 4096, 8, 2048)) {
            int freeAtStart = kv.allocator().freePages();
            AuxBuffers aux = new AuxBuffers(arena.allocate(AuxBuffers.bytesFor(8)), 8);
            KvSenderManager senders = new KvSenderManager(engine, kv.pool(), aux, (id, st) -> { },
                    3_600_000_000_000L, 0, 2, TransferObserver.NONE);
            try {
                PrefillScheduler s = new PrefillScheduler(model.transformer(), kv, tokenizer,
                        model.config().eosTokenIds(), new SchedulerConfig(8, 4096, 256, 2048, 16, false), senders, aux,
                        SchedulerObserver.NONE);
                KvLayout layout = new KvLayout(kv.pool().numLayers(), kv.pool().regionOffset(1, false),
                        kv.pool().pageBytes());
                SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "10.0.0.8", 1, 1L << 30, null);
                senders.onRegistration(new Messages.KvArgsRegistration("d0", d, layout, d, 8, 0, 1, "i1"));
                // In flight: its destination is known, it is computed and its push blocks on the stuck peer.
                senders.onTransferInfo(new Messages.TransferInfo(1, "d0", new int[] {0, 1, 2, 3}, 0, 1, "i1"));
                s.submit(request("inflight", 1, 40, done));
                for (int i = 0; i < 50 && entered.getCount() > 0; i++) {
                    s.step();
                }
                assertTrue(entered.await(10, TimeUnit.SECONDS), "the push reached the stuck peer");
                // Bootstrapping: no destination yet.
                s.submit(request("bootstrapping", 2, 20, done));
                s.step();
                assertTrue(kv.allocator().freePages() < freeAtStart);

                s.abortAll("aborted by /abort_request", 499); // must not wait for the stuck push
                assertEquals(Boolean.TRUE, done.get("bootstrapping"), "a room without a push ends at once");
                assertFalse(done.containsKey("inflight"), "its pages are still being read by the push");
                for (int i = 0; i < 5; i++) {
                    s.step(); // the loop keeps running
                }
                assertFalse(done.containsKey("inflight"));

                release.countDown(); // the peer reads again; the push returns
                for (int i = 0; i < 2000 && s.hasWork(); i++) {
                    s.step();
                    Thread.sleep(1);
                }
                assertEquals(Boolean.TRUE, done.get("inflight"));
                assertFalse(s.hasWork());
                assertEquals(freeAtStart, kv.allocator().freePages() + s.stats().cachedPages(),
                        "every page is back (free, or kept by the prefix cache)");
            } finally {
                senders.close();
            }
        }
    }
}
