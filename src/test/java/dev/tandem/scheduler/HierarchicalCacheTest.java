package dev.tandem.scheduler;

import dev.tandem.config.HiCacheConfig;
import dev.tandem.config.HiCacheConfig.PrefetchPolicy;
import dev.tandem.config.HiCacheConfig.StorageBackend;
import dev.tandem.config.HiCacheConfig.WritePolicy;
import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.Model;
import dev.tandem.hicache.HiCache;
import dev.tandem.hicache.HiCacheStats;
import dev.tandem.hicache.KvLayout;
import dev.tandem.hicache.PageKeys;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.gateway.policy.PrefixIndex;
import dev.tandem.kvevents.KvEventBatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hierarchical cache in the colocated scheduler, step by step on the tiny model: with a pool too small for
 * every conversation, prefixes come back from host memory (L2) with greedy output identical to a worker without
 * any cache; a new scheduler, pool and cache over the same storage directory (a restarted worker) reads a prompt's
 * pages from storage (L3); a truncated, bit-flipped or deleted page file ends the hit exactly there; pages (pool
 * and host) count back to zero after a flush.
 */
class HierarchicalCacheTest {
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

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** A finished request's output ids and cached tokens. */
    private record Run(int[] ids, int cached) {
    }

    private static Run run(ColocatedScheduler s, int[] prompt, int maxNew) {
        List<RequestOutput> outs = new ArrayList<>();
        s.submit(new SchedulerRequest("r", prompt, TinyEngine.greedy(maxNew), false, -1, 0, List.of(), outs::add, null));
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (s.hasWork()) {
            assertTrue(System.nanoTime() < deadline, "the request finishes");
            s.step();
        }
        List<Integer> ids = new ArrayList<>();
        for (RequestOutput o : outs) {
            for (int id : o.newIds()) {
                ids.add(id);
            }
        }
        assertEquals("length", outs.getLast().finish().type(), String.valueOf(outs.getLast().finish()));
        return new Run(ids.stream().mapToInt(Integer::intValue).toArray(), outs.getLast().cachedTokens());
    }

    private static ColocatedScheduler scheduler(PagedKvCache kv, boolean radix, HiCache hi) {
        return new ColocatedScheduler(model.transformer(), kv, engine.tokenizer, model.config().eosTokenIds(),
                new SchedulerConfig(4, kv.allocator().totalPages() * PAGE, 256, 2048, PAGE, radix),
                SchedulerObserver.NONE, hi);
    }

    private static HiCacheConfig cfg(WritePolicy write, Path dir, PrefetchPolicy prefetch) {
        return new HiCacheConfig(true, 4.0, 0, write, dir == null ? StorageBackend.NONE : StorageBackend.FILE, dir,
                1.0, prefetch, 5.0, 1, false);
    }

    /** What a worker without any prefix cache answers. */
    private static int[] reference(int[] prompt, int maxNew) {
        try (PagedKvCache kv = model.newKvCache(PAGE, 2048, 4, 2048)) {
            return run(scheduler(kv, false, null), prompt, maxNew).ids();
        }
    }

    @ParameterizedTest
    @EnumSource(WritePolicy.class)
    void conversationsThatOutgrowThePoolComeBackFromHostMemoryUnchanged(WritePolicy policy) {
        // 12 pages of pool; three conversations of 6 to 9 pages each take turns, so each turn finds its history
        // evicted from the pool by the others.
        try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
             HiCache hi = HiCache.create(cfg(policy, null, PrefetchPolicy.BEST_EFFORT), "tiny", kv.pool())) {
            ColocatedScheduler s = scheduler(kv, true, hi);
            int[][] history = {TinyEngine.prompt(1, 90), TinyEngine.prompt(2, 95), TinyEngine.prompt(3, 100)};
            int cachedTotal = 0;
            // A router's view built from the scheduler's KV events (pool and host memory blocks alike).
            PrefixIndex view = new PrefixIndex();
            for (int turn = 0; turn < 3; turn++) {
                for (int c = 0; c < 3; c++) {
                    int[] p = history[c];
                    hi.awaitCopies(); // write-through copies land (and announce their host blocks) on the copy thread
                    view.apply("w", new KvEventBatch(0, s.takeKvEvents(), 0));
                    int predicted = Math.min(view.matchedTokens("w", p), (p.length - 1) / PAGE * PAGE);
                    Run r = run(s, p, 6);
                    if (policy != WritePolicy.WRITE_THROUGH_SELECTIVE) {
                        assertEquals(predicted, r.cached(), policy + ": the events foretold the hit, conversation "
                                + c + " turn " + turn);
                    }
                    assertEquals(Arrays.toString(reference(p, 6)), Arrays.toString(r.ids()),
                            policy + ": conversation " + c + " turn " + turn);
                    cachedTotal += r.cached();
                    history[c] = concat(concat(p, r.ids()), TinyEngine.prompt(10 * turn + c, 7));
                }
            }
            HiCacheStats st = s.tierStats();
            if (policy != WritePolicy.WRITE_THROUGH_SELECTIVE) {
                assertTrue(st.l2HitPages() > 0, policy + ": pages came back from host memory: " + st);
                assertTrue(cachedTotal >= st.l2HitPages() * PAGE, policy + ": they count as cached tokens");
            }
            assertTrue(s.flushCache());
            assertEquals(0, kv.allocator().usedPages(), "every pool page is back");
            assertEquals(0, hi.stats().hostPages(), "host memory is empty");
        }
    }

    @Test
    void requestsQueuedForPagesCountTheirHitOnceWithOutputUnchanged() {
        int[][] prompts = {TinyEngine.prompt(21, 120), TinyEngine.prompt(22, 120), TinyEngine.prompt(23, 120), TinyEngine.prompt(24, 120)};
        try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
             HiCache hi = HiCache.create(cfg(WritePolicy.WRITE_THROUGH, null, PrefetchPolicy.BEST_EFFORT), "tiny",
                     kv.pool())) {
            ColocatedScheduler s = scheduler(kv, true, hi);
            for (int[] p : prompts) {
                run(s, p, 4); // one at a time: each fits, and goes to host memory
            }
            // All at once: 4 x 8 pages into 12; later ones wait for pages, attaching (and loading) again each step.
            List<List<RequestOutput>> outs = new ArrayList<>();
            for (int[] p : prompts) {
                List<RequestOutput> o = new ArrayList<>();
                outs.add(o);
                s.submit(new SchedulerRequest("r", p, TinyEngine.greedy(4), false, -1, 0, List.of(), o::add, null));
            }
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (s.hasWork()) {
                assertTrue(System.nanoTime() < deadline);
                s.step();
            }
            for (int i = 0; i < prompts.length; i++) {
                RequestOutput last = outs.get(i).getLast();
                assertEquals("length", last.finish().type());
                assertEquals(7 * PAGE, last.cachedTokens(), "request " + i + ": its 7 whole pages, counted once");
                List<Integer> ids = new ArrayList<>();
                outs.get(i).forEach(o -> Arrays.stream(o.newIds()).forEach(ids::add));
                assertEquals(Arrays.toString(reference(prompts[i], 4)), ids.toString(), "request " + i);
            }
            assertEquals(4 * 7, s.tierStats().missPages(), "computed once each, the first time; an admission "
                    + "retried for want of pages counts once");
            assertTrue(s.flushCache());
            assertEquals(0, kv.allocator().usedPages());
        }
    }

    @ParameterizedTest
    @EnumSource(value = WritePolicy.class, names = {"WRITE_THROUGH", "WRITE_BACK"})
    void aRestartedWorkerReadsAPromptsPagesFromStorage(WritePolicy policy, @TempDir Path dir) throws IOException {
        int[] p = TinyEngine.prompt(42, 100); // 99 positions may be cached: 6 whole pages
        int[] expected = reference(p, 8);
        try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
             HiCache hi = HiCache.create(cfg(policy, dir, PrefetchPolicy.WAIT_COMPLETE), "tiny", kv.pool())) {
            ColocatedScheduler s = scheduler(kv, true, hi);
            assertEquals(0, run(s, p, 8).cached());
            if (policy == WritePolicy.WRITE_BACK) {
                run(s, TinyEngine.prompt(43, 150), 8); // needs the pool: the first prompt's pages are evicted, then written
            }
            hi.drain();
            assertTrue(files(dir) >= 6, policy + ": the prompt's pages are in storage: " + files(dir));
        }
        try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
             HiCache hi = HiCache.create(cfg(policy, dir, PrefetchPolicy.WAIT_COMPLETE), "tiny", kv.pool())) {
            ColocatedScheduler s = scheduler(kv, true, hi);
            Run r = run(s, p, 8);
            assertEquals(6 * PAGE, r.cached(), "every whole page of the prompt came from storage");
            assertEquals(Arrays.toString(expected), Arrays.toString(r.ids()));
            assertEquals(6, s.tierStats().l3HitPages());
            assertTrue(s.flushCache());
            assertEquals(0, kv.allocator().usedPages());
        }
        try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
             HiCache hi = HiCache.create(cfg(policy, dir, PrefetchPolicy.WAIT_COMPLETE), "other-model",
                     kv.pool())) {
            assertEquals(0, run(scheduler(kv, true, hi), p, 8).cached(), "another model's pages are never read");
        }
    }

    @ParameterizedTest
    @EnumSource(PrefetchPolicy.class)
    void everyPrefetchPolicyGivesTheSameOutputAndTheWaitingOnesTheWholePrompt(PrefetchPolicy policy,
                                                                              @TempDir Path dir) {
        int[] p = TinyEngine.prompt(77, 100);
        int[] expected = reference(p, 8);
        try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
             HiCache hi = HiCache.create(cfg(WritePolicy.WRITE_THROUGH, dir, policy), "tiny", kv.pool())) {
            run(scheduler(kv, true, hi), p, 8);
        }
        try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
             HiCache hi = HiCache.create(cfg(WritePolicy.WRITE_THROUGH, dir, policy), "tiny", kv.pool())) {
            ColocatedScheduler s = scheduler(kv, true, hi);
            Run r = run(s, p, 8);
            assertEquals(Arrays.toString(expected), Arrays.toString(r.ids()), policy.name());
            if (policy == PrefetchPolicy.BEST_EFFORT) {
                // admitted at once: it takes whatever the prefetch had read by then
                assertTrue(r.cached() % PAGE == 0 && r.cached() <= 6 * PAGE, "cached " + r.cached());
            } else {
                assertEquals(6 * PAGE, r.cached(), policy + " waits for the prefetch (timeout 5 s)");
            }
            assertEquals(1, s.tierStats().prefetches());
            hi.drain();
            assertTrue(s.flushCache());
            assertEquals(0, kv.allocator().usedPages());
        }
    }

    @Test
    void aDamagedOrMissingPageFileEndsTheHitThereAndTheOutputStaysTheSame(@TempDir Path dir) throws IOException {
        int[] p = TinyEngine.prompt(7, 100);
        int[] expected = reference(p, 8);
        List<String> keys;
        try (PagedKvCache kv = model.newKvCache(PAGE, PAGE, 1, 64)) {
            keys = PageKeys.keys(p, PAGE, 6, KvLayout.of("tiny", kv.pool()).suffix());
        }
        for (String damage : List.of("truncated", "flipped", "deleted")) {
            try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
                 HiCache hi = HiCache.create(cfg(WritePolicy.WRITE_THROUGH, dir, PrefetchPolicy.WAIT_COMPLETE),
                         "tiny", kv.pool())) {
                run(scheduler(kv, true, hi), p, 8);
                hi.drain();
            }
            Path f = dir.resolve(keys.get(3));
            assertTrue(Files.exists(f), keys.get(3));
            switch (damage) {
                case "truncated" -> {
                    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                        raf.setLength(raf.length() / 2);
                    }
                }
                case "flipped" -> {
                    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                        raf.seek(raf.length() - 7);
                        int b = raf.read();
                        raf.seek(raf.length() - 7);
                        raf.write(b ^ 1);
                    }
                }
                default -> Files.delete(f);
            }
            try (PagedKvCache kv = model.newKvCache(PAGE, 12 * PAGE, 4, 2048);
                 HiCache hi = HiCache.create(cfg(WritePolicy.WRITE_THROUGH, dir, PrefetchPolicy.WAIT_COMPLETE),
                         "tiny", kv.pool())) {
                ColocatedScheduler s = scheduler(kv, true, hi);
                Run r = run(s, p, 8);
                assertEquals(3 * PAGE, r.cached(), damage + ": pages before the bad one are hits");
                assertEquals(Arrays.toString(expected), Arrays.toString(r.ids()), damage);
                hi.drain();
                assertTrue(s.flushCache());
                assertEquals(0, kv.allocator().usedPages());
            }
            assertTrue(Files.exists(f), damage + ": the recomputed page is written again");
        }
    }

    private static long files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> !f.getFileName().toString().endsWith(".tmp")).count();
        }
    }
}
