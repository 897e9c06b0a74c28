package dev.tandem.engine;

import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.tandem.config.ComputeBackendKind.SCALAR;
import static dev.tandem.config.ComputeBackendKind.VECTOR;
import static dev.tandem.engine.EngineFixture.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GeneratorTest {

    private static SamplingParams greedy(int n, List<Integer> stops, boolean ignoreEos) {
        return new SamplingParams(n, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, stops, ignoreEos, 0);
    }

    @Test
    void stopsOnLengthAndStopIdsAndReturnsEveryPage() {
        try (EngineFixture f = new EngineFixture(VECTOR); PagedKvCache kv = f.cache(4, 256)) {
            Generator g = new Generator(f.model.transformer(), kv);
            int[] prompt = tokens(11, 9);
            List<Sampled> heard = new ArrayList<>();
            Generator.Result r = g.generate(new Generator.Request(prompt, greedy(12, List.of(), true), -1, 2),
                    List.of(), heard::add);
            assertEquals(12, r.outputIds().length);
            assertEquals(new Generator.Finish("length", 12), r.finish());
            assertEquals(12, heard.size());
            assertEquals(2, heard.get(0).top().size());
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages());
            assertEquals(kv.maxRequests(), kv.freeRows());

            // The same run stopped by the id it produces at step 5.
            int stopId = r.outputIds()[4];
            int firstAt = 0;
            while (r.outputIds()[firstAt] != stopId) {
                firstAt++;
            }
            Generator.Result stopped = g.generate(new Generator.Request(prompt, greedy(12, List.of(stopId), true),
                    -1, 0), List.of(), t -> { });
            assertEquals(new Generator.Finish("stop", stopId), stopped.finish());
            assertArrayEquals(java.util.Arrays.copyOf(r.outputIds(), firstAt + 1), stopped.outputIds());
            // EOS ids stop too, unless ignore_eos.
            Generator.Result eos = g.generate(new Generator.Request(prompt, greedy(12, List.of(), false), -1, 0),
                    List.of(stopId), t -> { });
            assertEquals(new Generator.Finish("stop", stopId), eos.finish());
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages());
        }
    }

    @Test
    void inputLogprobsStartWhereAskedAndMatchTheLogits() {
        try (EngineFixture f = new EngineFixture(SCALAR); PagedKvCache kv = f.cache(16, 256)) {
            int[] prompt = tokens(9, 10);
            float[][] rows = f.prefill(kv, prompt, 0);
            Generator g = new Generator(f.model.transformer(), kv);
            Generator.Result all = g.generate(new Generator.Request(prompt, greedy(1, List.of(), true), 0, 3),
                    List.of(), t -> { });
            assertEquals(prompt.length, all.inputLogprobs().size());
            assertNull(all.inputLogprobs().get(0).logprob(), "nothing predicts the first prompt token");
            assertEquals(prompt[0], all.inputLogprobs().get(0).tokenId());
            for (int i = 1; i < prompt.length; i++) {
                float[] lp = Logprobs.logSoftmax(rows[i - 1]);
                Generator.InputLogprob got = all.inputLogprobs().get(i);
                assertEquals(prompt[i], got.tokenId());
                assertEquals(lp[prompt[i]], got.logprob(), 1e-6f);
                assertEquals(Logprobs.topK(lp, 3), got.top());
            }
            Generator.Result from5 = g.generate(new Generator.Request(prompt, greedy(1, List.of(), true), 5, 0),
                    List.of(), t -> { });
            assertEquals(prompt.length - 5, from5.inputLogprobs().size());
            assertEquals(all.inputLogprobs().get(5).logprob(), from5.inputLogprobs().get(0).logprob());
            // The first output token is the argmax after the prompt, with its logprob.
            assertEquals(Logprobs.argmax(rows[prompt.length - 1]), all.outputIds()[0]);
        }
    }

    @Test
    void requestsThatCannotFitAreRejectedWithTheNumbers() {
        try (EngineFixture f = new EngineFixture(VECTOR); PagedKvCache kv = f.model.newKvCache(16, 64, 1, 64)) {
            Generator g = new Generator(f.model.transformer(), kv);
            assertEquals("prompt (60 tokens) + max_new_tokens (10) exceeds the context length 64",
                    assertThrows(IllegalArgumentException.class, () -> g.generate(
                            Generator.Request.greedy(tokens(60, 1), 10), List.of(), t -> { })).getMessage());
            assertEquals("input_ids: the prompt is empty", assertThrows(IllegalArgumentException.class,
                    () -> Generator.Request.greedy(new int[0], 10)).getMessage());
            assertEquals("token id 512 outside the vocabulary [0, 512)", assertThrows(IllegalArgumentException.class,
                    () -> g.generate(Generator.Request.greedy(new int[] {1, 512}, 2), List.of(), t -> { }))
                    .getMessage());
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages(), "a failed request frees its pages");
            // A chunk beyond the row's capacity is refused rather than writing someone else's slots.
            int row = kv.allocateRow();
            kv.ensureCapacity(row, 16);
            assertEquals("KV row 0 holds 16 positions, the chunk needs 17", assertThrows(IllegalStateException.class,
                    () -> f.model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 16, 5)), kv))
                    .getMessage());
            kv.release(row);
            assertEquals(1, kv.freeRows());
        }
    }
}
