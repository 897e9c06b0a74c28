package dev.tandem.scheduler;

import dev.tandem.config.HiCacheConfig;
import dev.tandem.config.HiCacheConfig.PrefetchPolicy;
import dev.tandem.config.HiCacheConfig.StorageBackend;
import dev.tandem.config.HiCacheConfig.WritePolicy;
import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.Model;
import dev.tandem.hicache.HiCache;
import dev.tandem.hicache.KvLayout;
import dev.tandem.config.KvDtype;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Host-to-pool loads run on the tier's copy thread: a load held back by the test's copy hook (a latch, never a
 * sleep) keeps only its own request waiting while the scheduler steps another request to the end; a load whose
 * host pages vanish meanwhile becomes a miss, with the output unchanged. Pages and host slots end where they began.
 */
class HiCacheAsyncCopyTest {
    private static final int PAGE = 16;
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

    private static ColocatedScheduler scheduler(PagedKvCache kv, boolean radix, HiCache hi) {
        return new ColocatedScheduler(model.transformer(), kv, engine.tokenizer, model.config().eosTokenIds(),
                new SchedulerConfig(4, kv.allocator().totalPages() * PAGE, 256, 2048, PAGE, radix),
                SchedulerObserver.NONE, hi);
    }

    /** A request's outputs as they come. */
    private static final class Outs {
        final List<RequestOutput> list = new java.util.concurrent.CopyOnWriteArrayList<>();

        SchedulerRequest request(int[] prompt, int maxNew) {
            return new SchedulerRequest("r", prompt, TinyEngine.greedy(maxNew), false, -1, 0, List.of(), list::add, null);
        }

        boolean done() {
            return !list.isEmpty() && list.getLast().finish() != null;
        }

        int[] ids() {
            return list.stream().flatMapToInt(o -> Arrays.stream(o.newIds())).toArray();
        }

        int cached() {
            return list.getLast().cachedTokens();
        }
    }

    private static int[] reference(int[] prompt, int maxNew) {
        try (PagedKvCache kv = model.newKvCache(PAGE, 2048, 4, 2048)) {
            ColocatedScheduler s = scheduler(kv, false, null);
            Outs o = new Outs();
            s.submit(o.request(prompt, maxNew));
            stepUntil(s, o::done);
            return o.ids();
        }
    }

    private static void stepUntil(ColocatedScheduler s, java.util.function.BooleanSupplier cond) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!cond.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "in time");
            s.step();
        }
    }

    private static HiCache tiers(PagedKvCache kv) {
        return HiCache.create(new HiCacheConfig(true, 4.0, 0, WritePolicy.WRITE_THROUGH, StorageBackend.NONE, null,
                1.0, PrefetchPolicy.BEST_EFFORT, 5.0, 1, false), "tiny", kv.pool());
    }

    /** Runs {@code p}, then a long prompt that pushes p's pages out of the 24-page pool into host memory. */
    private static void pushToHost(ColocatedScheduler s, int[] p) {
        for (int[] q : List.of(p, TinyEngine.prompt(53, 340))) {
            Outs o = new Outs();
            s.submit(o.request(q, 2));
            stepUntil(s, o::done);
        }
    }

    @Test
    void aSlowLoadHoldsOnlyItsOwnRequestWhileTheSchedulerStepsAnotherToTheEnd() throws Exception {
        int[] p = TinyEngine.prompt(51, 100); // 6 whole pages may be cached
        int[] other = TinyEngine.prompt(52, 30);
        int[] expectedP = reference(p, 6);
        int[] expectedOther = reference(other, 12);
        try (PagedKvCache kv = model.newKvCache(PAGE, 24 * PAGE, 4, 2048); HiCache hi = tiers(kv)) {
            ColocatedScheduler s = scheduler(kv, true, hi);
            pushToHost(s, p);
            hi.awaitCopies();
            long l2Before = hi.stats().l2HitPages();

            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch entered = new CountDownLatch(1);
            AtomicInteger held = new AtomicInteger();
            hi.setCopyHook(load -> {
                if (load) {
                    held.incrementAndGet();
                    entered.countDown();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            Outs o = new Outs();
            s.submit(o.request(other, 12));
            s.step(); // other is admitted first (nothing of it is cached anywhere)
            Outs po = new Outs();
            s.submit(po.request(p, 6));
            s.step(); // p's admission starts its load
            assertTrue(entered.await(60, TimeUnit.SECONDS), "p's load is on the copy thread, held by the hook");
            int before = o.ids().length;
            stepUntil(s, o::done); // while the copy is held
            assertTrue(o.ids().length > before, "other kept going: " + before + " -> " + o.ids().length);
            assertEquals(1, held.get(), "one load, still held");
            assertTrue(po.list.isEmpty(), "p waits for its own pages only: nothing computed yet");
            assertEquals(Arrays.toString(expectedOther), Arrays.toString(o.ids()), "other ran to the end");
            assertEquals(1, s.waitingCount(), "p is still waiting");

            release.countDown();
            stepUntil(s, po::done);
            assertEquals(Arrays.toString(expectedP), Arrays.toString(po.ids()));
            assertEquals(6 * PAGE, po.cached(), "every whole page came back from host memory");
            assertEquals(6, hi.stats().l2HitPages() - l2Before);
            hi.setCopyHook(load -> { });
            assertTrue(s.flushCache());
            assertEquals(0, kv.allocator().usedPages(), "every pool page is back");
            assertEquals(0, hi.stats().hostPages(), "host memory is empty");
        }
    }

    @Test
    void aLoadWhoseHostPagesVanishIsAMissWithTheOutputUnchanged() throws Exception {
        int[] p = TinyEngine.prompt(61, 100);
        int[] expected = reference(p, 6);
        try (PagedKvCache kv = model.newKvCache(PAGE, 24 * PAGE, 4, 2048); HiCache hi = tiers(kv)) {
            ColocatedScheduler s = scheduler(kv, true, hi);
            pushToHost(s, p);
            hi.awaitCopies();
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            hi.setCopyHook(load -> {
                if (load) {
                    started.countDown();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            Outs po = new Outs();
            s.submit(po.request(p, 6));
            s.step(); // starts the load
            assertTrue(started.await(60, TimeUnit.SECONDS), "the load is on the copy thread");
            assertEquals(1, s.waitingCount(), "p waits for its pages");
            hi.clearHost(); // host memory lets every page go while the load waits
            release.countDown();
            stepUntil(s, po::done);
            assertEquals(Arrays.toString(expected), Arrays.toString(po.ids()), "computed instead");
            assertEquals(0, po.cached(), "a load that found nothing is a miss");
            hi.setCopyHook(load -> { });
            assertTrue(s.flushCache());
            assertEquals(0, kv.allocator().usedPages());
            assertEquals(0, hi.stats().hostPages());
        }
    }

    @Test
    void aBf16PoolsPagesComeBackFromHostMemoryUnchangedAndNeverMeetAFloat32PoolsPages() {
        int[] p = TinyEngine.prompt(71, 100);
        int[] expected;
        try (PagedKvCache kv = model.newKvCache(PAGE, 2048, 4, 2048, null, KvDtype.BFLOAT16)) {
            ColocatedScheduler s = scheduler(kv, false, null);
            Outs o = new Outs();
            s.submit(o.request(p, 6));
            stepUntil(s, o::done);
            expected = o.ids(); // bf16 K/V without any cache: what the hierarchy must reproduce
        }
        try (PagedKvCache kv = model.newKvCache(PAGE, 24 * PAGE, 4, 2048, null, KvDtype.BFLOAT16);
             PagedKvCache f32 = model.newKvCache(PAGE, 24 * PAGE, 4, 2048);
             HiCache hi = tiers(kv)) {
            assertTrue(!KvLayout.of("tiny", kv.pool()).suffix().equals(KvLayout.of("tiny", f32.pool()).suffix()),
                    "the page keys name the element size: a float32 pool never reads a bf16 page");
            ColocatedScheduler s = scheduler(kv, true, hi);
            pushToHost(s, p);
            Outs o = new Outs();
            s.submit(o.request(p, 6));
            stepUntil(s, o::done);
            assertEquals(6 * PAGE, o.cached(), "every whole page back from host memory");
            assertEquals(Arrays.toString(expected), Arrays.toString(o.ids()));
            assertTrue(s.flushCache());
            assertEquals(0, kv.allocator().usedPages());
            assertEquals(0, hi.stats().hostPages());
        }
    }
}
