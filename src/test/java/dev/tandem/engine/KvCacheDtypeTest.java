package dev.tandem.engine;

import dev.tandem.config.ComputeBackendKind;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.config.KvDtype;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.tandem.config.ComputeBackendKind.SCALAR;
import static dev.tandem.config.ComputeBackendKind.VECTOR;
import static dev.tandem.engine.EngineFixture.maxAbsDiff;
import static dev.tandem.engine.EngineFixture.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model with a bf16 KV pool ({@code --kv-cache-dtype bf16}) against the float64 reference that applies the
 * same rounding: the scalar backend (double accumulators) reading the same bf16-rounded K/V. Not against float32 KV,
 * which the rounding really changes.
 */
class KvCacheDtypeTest {

    /**
     * Token by token over one bf16 pool: at each position the reference (scalar backend, double accumulators) and the
     * vector backend read the same stored, rounded history. (Two separate prefills would not do: their float32 and
     * float64 K/V differ in the last bits, which bf16 rounding sometimes turns into a whole bf16 step, 2^-8.)
     */
    @Test
    void bf16KvMatchesTheFloat64ReferenceWithTheSameRounding() {
        int[] prompt = tokens(48, 9);
        float[][] ref = new float[prompt.length][];
        float[][] got = new float[prompt.length][];
        try (EngineFixture scalar = new EngineFixture(SCALAR); EngineFixture vector = new EngineFixture(VECTOR);
             PagedKvCache kv = vector.cache(16, 256, KvDtype.BFLOAT16)) {
            int row = kv.allocateRow();
            assertTrue(kv.ensureCapacity(row, prompt.length));
            for (int pos = 0; pos < prompt.length; pos++) {
                List<SequenceChunk> step = List.of(SequenceChunk.lastLogits(row, pos, prompt[pos]));
                ref[pos] = scalar.model.transformer().forward(step, kv).last(0);
                got[pos] = vector.model.transformer().forward(step, kv).last(0); // its K/V stay for what follows
            }
            kv.release(row);
        }
        float worst = 0;
        for (int i = 0; i < prompt.length; i++) {
            worst = Math.max(worst, maxAbsDiff(ref[i], got[i]));
            assertEquals(Logprobs.argmax(ref[i]), Logprobs.argmax(got[i]), "argmax at token " + i);
        }
        // The rounding is real: float32 KV gives measurably different logits past the first token.
        float[][] bf16 = logits(VECTOR, KvDtype.BFLOAT16, 16, prompt);
        float[][] f32 = logits(VECTOR, KvDtype.FLOAT32, 16, prompt);
        float apart = 0;
        for (int i = 1; i < prompt.length; i++) {
            apart = Math.max(apart, maxAbsDiff(f32[i], bf16[i]));
        }
        System.out.printf("bf16 KV: max |logit diff| vs reference %.2e, vs float32 KV %.2e%n", worst, apart);
        assertTrue(worst < 5e-3f, "max |logit diff| bf16 KV vs float64 reference with bf16 K/V: " + worst);
        assertTrue(apart > 10 * worst, "bf16 KV logits are as close to float32 KV (" + apart + ") as to the reference ("
                + worst + "): the test cannot tell the rounding apart");
    }

    @Test
    void bf16KvGivesTheSameBitsOnEveryPageSizeAndIncrementally() {
        int[] prompt = tokens(40, 3);
        float[][] paged16 = logits(VECTOR, KvDtype.BFLOAT16, 16, prompt);
        for (int pageSize : new int[] {1, 7}) {
            float[][] other = logits(VECTOR, KvDtype.BFLOAT16, pageSize, prompt);
            for (int i = 0; i < prompt.length; i++) {
                assertArrayEquals(paged16[i], other[i], "page size " + pageSize + ", token " + i);
            }
        }
        // Decoding one token at a time reads the same rounded K/V the prefill wrote.
        try (EngineFixture f = new EngineFixture(VECTOR); PagedKvCache kv = f.cache(16, 256, KvDtype.BFLOAT16)) {
            int row = kv.allocateRow();
            assertTrue(kv.ensureCapacity(row, prompt.length));
            int prefix = 30;
            f.model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 0,
                    java.util.Arrays.copyOf(prompt, prefix))), kv);
            for (int pos = prefix; pos < prompt.length; pos++) {
                float[] step = f.model.transformer().forward(
                        List.of(SequenceChunk.lastLogits(row, pos, prompt[pos])), kv).last(0);
                float d = maxAbsDiff(paged16[pos], step);
                assertTrue(d <= 1e-4f, "position " + pos + ": max |diff| " + d);
            }
            kv.release(row);
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages());
        }
    }

    private static float[][] logits(ComputeBackendKind backend, KvDtype dtype, int pageSize, int[] prompt) {
        try (EngineFixture f = new EngineFixture(backend); PagedKvCache kv = f.cache(pageSize, 256, dtype)) {
            assertEquals(dtype, kv.pool().dtype());
            int row = kv.allocateRow();
            assertTrue(kv.ensureCapacity(row, prompt.length));
            ForwardOutput out = f.model.transformer().forward(List.of(new SequenceChunk(row, 0, prompt, 0)), kv);
            float[][] rows = new float[prompt.length][];
            for (int i = 0; i < prompt.length; i++) {
                rows[i] = out.row(0, i);
            }
            kv.release(row);
            return rows;
        }
    }
}
