package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.tokenizer.TextTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scheduler side of two HTTP protections, step by step on the tiny model: a paused request (its streaming
 * reader is behind) gets no tokens while others go on, and resumes to the same output; an abort by rid reaches
 * exactly the rid and the items derived from it.
 */
class PauseAndAbortSchedulerTest {
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

    private static ColocatedScheduler scheduler(PagedKvCache kv) {
        return new ColocatedScheduler(model.transformer(), kv, tokenizer, model.config().eosTokenIds(),
                new SchedulerConfig(8, 4096, 256, 2048, 16, false), SchedulerObserver.NONE);
    }

    private static final SamplingParams GREEDY_40 = new SamplingParams(40, 0f, 1f, -1, 0f, 0f, 0f, 1f, null,
            List.of(), true, 0);

    private static List<Integer> ids(List<RequestOutput> outs) {
        List<Integer> l = new ArrayList<>();
        outs.forEach(o -> {
            for (int id : o.newIds()) {
                l.add(id);
            }
        });
        return l;
    }

    @Test
    void aPausedRequestGetsNoTokensWhileOthersGoOnAndResumesUnchanged() {
        try (PagedKvCache kv = model.newKvCache(16, 4096, 8, 2048)) {
            ColocatedScheduler alone = scheduler(kv);
            List<RequestOutput> ref = new ArrayList<>();
            alone.submit(new SchedulerRequest("p", new int[] {508, 80, 81}, GREEDY_40, false, -1, 0, List.of(),
                    ref::add, null));
            while (alone.hasWork()) {
                alone.step();
            }

            ColocatedScheduler s = scheduler(kv);
            List<RequestOutput> paused = new ArrayList<>();
            List<RequestOutput> other = new ArrayList<>();
            OutputSink pausedSink = paused::add;
            s.submit(new SchedulerRequest("p", new int[] {508, 80, 81}, GREEDY_40, false, -1, 0, List.of(),
                    pausedSink, null));
            s.submit(new SchedulerRequest("o", new int[] {508, 90, 91, 92}, GREEDY_40, false, -1, 0, List.of(),
                    other::add, null));
            s.step(); // both prefilled, one token each
            s.step();
            s.pause(new RequestScope.Exact(pausedSink), true);
            int held = ids(paused).size();
            for (int step = 0; step < 10; step++) {
                int before = ids(other).size();
                assertTrue(s.step());
                assertEquals(before + 1, ids(other).size(), "the other request goes on");
                assertEquals(held, ids(paused).size(), "the paused request gets nothing");
                assertEquals(1, s.stats().paused());
                assertEquals(2, s.stats().running());
            }
            s.pause(new RequestScope.Rid("nobody"), false); // another scope resumes nothing
            s.step();
            assertEquals(held, ids(paused).size());
            s.pause(new RequestScope.Exact(pausedSink), false);
            while (s.hasWork()) {
                s.step();
            }
            assertEquals(ids(ref), ids(paused), "a resumed request produces what it would have");
            assertEquals("length", paused.getLast().finish().type());
            assertEquals(0, s.stats().paused());
            assertEquals(0, kv.allocator().usedPages());
        }
    }

    @Test
    void anAbortByRidReachesTheRidAndItsDerivedItemsOnly() {
        try (PagedKvCache kv = model.newKvCache(16, 4096, 8, 2048)) {
            ColocatedScheduler s = scheduler(kv);
            // rid -> group: a's two n-copies, and others whose rids start with "a" or equal a derived id.
            Map<String, String> requests = new LinkedHashMap<>();
            requests.put("a-0", "a");
            requests.put("a-1", "a");
            requests.put("ab", "ab");
            requests.put("a1", "a1");
            requests.put("a-1 (another client)", "a-1");
            Map<String, List<RequestOutput>> heard = new LinkedHashMap<>();
            for (var e : requests.entrySet()) {
                List<RequestOutput> outs = new ArrayList<>();
                heard.put(e.getKey(), outs);
                String rid = e.getKey().startsWith("a-1 ") ? "a-1" : e.getKey();
                s.submit(new SchedulerRequest(rid, e.getValue(), new int[] {508, 65, 66}, GREEDY_40, false, -1, 0,
                        StopStrings.NONE, outs::add, null));
            }
            s.step();
            assertTrue(s.abort("a", "aborted by /abort_request"));
            for (var e : heard.entrySet()) {
                boolean aborted = !e.getValue().isEmpty() && e.getValue().getLast().finished()
                        && e.getValue().getLast().finish().isAbort();
                assertEquals(requests.get(e.getKey()).equals("a"), aborted, e.getKey());
            }
            assertEquals(3, s.stats().running());
            assertFalse(s.abort("a", "again"), "nothing left under a");
            // An abort by a derived id reaches every request with that rid (a-1 of a is gone already).
            assertTrue(s.abort("a-1", "aborted by /abort_request"));
            assertEquals(2, s.stats().running());
            s.abortAll("done", 499);
            assertEquals(0, kv.allocator().usedPages());
        }
    }
}
