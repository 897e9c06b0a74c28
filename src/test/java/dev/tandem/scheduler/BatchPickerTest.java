package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rows of a step pick their tokens on the compute threads ({@link BatchPicker}); a request must still get the
 * tokens it gets alone: seeded sampled requests (with top_p, top_k and a repetition penalty), greedy ones, and one
 * returning logprobs (picked on the scheduler thread, its logprobs those of the same tokens), batched together on a
 * two-thread backend, each against its own run as a batch of one.
 */
class BatchPickerTest {
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

    private static ColocatedScheduler scheduler(PagedKvCache kv) {
        return new ColocatedScheduler(model.transformer(), kv, engine.tokenizer, model.config().eosTokenIds(),
                new SchedulerConfig(16, 4096, 256, 2048, 16, false), SchedulerObserver.NONE);
    }

    private static SamplingParams sampled(float t, float topP, int topK, float penalty, long seed) {
        return new SamplingParams(24, t, topP, topK, 0f, 0f, 0f, penalty, seed, List.of(), true, 0);
    }

    private record Req(String rid, int[] prompt, SamplingParams params, boolean logprobs) {
    }

    private static List<List<Integer>> run(PagedKvCache kv, List<Req> reqs, List<List<Float>> logprobs) {
        ColocatedScheduler s = scheduler(kv);
        List<List<Integer>> ids = new ArrayList<>();
        for (Req r : reqs) {
            List<Integer> got = new ArrayList<>();
            List<Float> lps = new ArrayList<>();
            ids.add(got);
            logprobs.add(lps);
            s.submit(new SchedulerRequest(r.rid(), r.prompt(), r.params(), r.logprobs(), -1, 0, List.of(), o -> {
                for (int id : o.newIds()) {
                    got.add(id);
                }
                if (o.newLogprobs() != null) {
                    for (Sampled t : o.newLogprobs()) {
                        lps.add(t.logprob());
                    }
                }
            }, null));
        }
        while (s.hasWork()) {
            s.step();
        }
        return ids;
    }

    @Test
    void batchedRowsPickTheTokensTheyPickAlone() {
        List<Req> reqs = List.of(
                new Req("t1", TinyEngine.prompt(1, 9), sampled(1f, 1f, -1, 1f, 11), false),
                new Req("t2", TinyEngine.prompt(2, 5), sampled(0.8f, 0.9f, 20, 1.3f, 12), false),
                new Req("g", TinyEngine.prompt(3, 7), TinyEngine.greedy(24), false),
                new Req("t3", TinyEngine.prompt(4, 12), sampled(1.2f, 0.95f, -1, 1f, 13), false),
                new Req("lp", TinyEngine.prompt(5, 6), sampled(1f, 1f, -1, 1f, 14), true),
                new Req("t4", TinyEngine.prompt(6, 3), sampled(1f, 1f, 5, 1f, 15), false));
        try (PagedKvCache kv = model.newKvCache(16, 4096, 16, 2048)) {
            List<List<Float>> batchedLps = new ArrayList<>();
            List<List<Integer>> batched = run(kv, reqs, batchedLps);
            int distinct = 0;
            for (int i = 0; i < reqs.size(); i++) {
                List<List<Float>> aloneLps = new ArrayList<>();
                List<Integer> alone = run(kv, List.of(reqs.get(i)), aloneLps).getFirst();
                assertEquals(24, alone.size(), reqs.get(i).rid());
                assertEquals(alone, batched.get(i), reqs.get(i).rid() + ": the tokens it picks alone");
                assertEquals(aloneLps.getFirst(), batchedLps.get(i), reqs.get(i).rid() + ": logprobs");
                distinct += (int) alone.stream().distinct().count();
            }
            assertEquals(24, batchedLps.get(4).size(), "the logprobs request got one per token");
            assertTrue(distinct > 6 * 4, "sampling varies the tokens (" + distinct + " distinct in all)");
            assertEquals(0, kv.allocator().usedPages());
        }
    }
}
