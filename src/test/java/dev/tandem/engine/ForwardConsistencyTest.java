package dev.tandem.engine;

import dev.tandem.config.ComputeBackendKind;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;

import static dev.tandem.config.ComputeBackendKind.SCALAR;
import static dev.tandem.config.ComputeBackendKind.VECTOR;
import static dev.tandem.engine.EngineFixture.maxAbsDiff;
import static dev.tandem.engine.EngineFixture.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The forward pass gives the same logits however the work is split: incrementally, batched, paged. */
class ForwardConsistencyTest {

    @ParameterizedTest
    @EnumSource(ComputeBackendKind.class)
    void incrementalDecodingMatchesFullRecompute(ComputeBackendKind backend) {
        try (EngineFixture f = new EngineFixture(backend); PagedKvCache kv = f.cache(16, 256)) {
            int[] seq = tokens(40, 1);
            int prefix = 23;
            // Full recompute: logits after every token from prefix-1 on.
            float[][] full = f.prefill(kv, seq, prefix - 1);
            // Incremental: prefill the prefix, then one token per step through the KV cache.
            int row = kv.allocateRow();
            kv.ensureCapacity(row, seq.length);
            int[] head = java.util.Arrays.copyOf(seq, prefix);
            List<float[]> inc = new ArrayList<>();
            inc.add(f.model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 0, head)), kv).last(0));
            for (int pos = prefix; pos < seq.length; pos++) {
                inc.add(f.model.transformer().forward(List.of(SequenceChunk.lastLogits(row, pos, seq[pos])), kv).last(0));
            }
            kv.release(row);
            assertEquals(full.length, inc.size());
            for (int i = 0; i < full.length; i++) {
                float d = maxAbsDiff(full[i], inc.get(i));
                assertTrue(d <= 1e-4f, "position " + (prefix - 1 + i) + ": max |diff| " + d);
            }
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages());
        }
    }

    @ParameterizedTest
    @EnumSource(ComputeBackendKind.class)
    void raggedBatchMatchesEachSequenceAlone(ComputeBackendKind backend) {
        try (EngineFixture f = new EngineFixture(backend); PagedKvCache kv = f.cache(16, 512)) {
            int[] a = tokens(37, 2);   // fresh prompt, all logits
            int[] b = tokens(21, 3);   // 16 cached, 5 new (a chunked-prefill continuation)
            int[] c = tokens(9, 4);    // 8 cached, 1 new (a decode step)
            int[] d = tokens(1, 5);    // a one-token prompt
            // Alone.
            float[][] aAlone = f.prefill(kv, a, 0);
            float[] bAlone = continuation(f, kv, b, 16, null);
            float[] cAlone = continuation(f, kv, c, 8, null);
            float[][] dAlone = f.prefill(kv, d, 0);
            // Together: cache the prefixes of b and c, then one forward with all four.
            int ra = kv.allocateRow();
            int rb = kv.allocateRow();
            int rc = kv.allocateRow();
            int rd = kv.allocateRow();
            kv.ensureCapacity(ra, a.length);
            kv.ensureCapacity(rb, b.length);
            kv.ensureCapacity(rc, c.length);
            kv.ensureCapacity(rd, d.length);
            f.model.transformer().forward(List.of(SequenceChunk.lastLogits(rb, 0, java.util.Arrays.copyOf(b, 16)),
                    SequenceChunk.lastLogits(rc, 0, java.util.Arrays.copyOf(c, 8))), kv);
            ForwardOutput out = f.model.transformer().forward(List.of(
                    new SequenceChunk(ra, 0, a, 0),
                    SequenceChunk.lastLogits(rb, 16, java.util.Arrays.copyOfRange(b, 16, b.length)),
                    SequenceChunk.lastLogits(rc, 8, c[8]),
                    new SequenceChunk(rd, 0, d, 0)), kv);
            for (int i = 0; i < a.length; i++) {
                assertArrayEquals(aAlone[i], out.row(0, i), "sequence a, token " + i);
            }
            assertArrayEquals(bAlone, out.last(1), "sequence b");
            assertArrayEquals(cAlone, out.last(2), "sequence c");
            assertArrayEquals(dAlone[0], out.last(3), "sequence d");
            for (int r : new int[] {ra, rb, rc, rd}) {
                kv.release(r);
            }
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages());
        }
    }

    /** Caches {@code seq[0, cached)} then returns the logits after the rest, forwarded as one chunk. */
    private static float[] continuation(EngineFixture f, PagedKvCache kv, int[] seq, int cached, Void unused) {
        int row = kv.allocateRow();
        try {
            kv.ensureCapacity(row, seq.length);
            f.model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 0, java.util.Arrays.copyOf(seq, cached))), kv);
            return f.model.transformer().forward(List.of(SequenceChunk.lastLogits(row, cached,
                    java.util.Arrays.copyOfRange(seq, cached, seq.length))), kv).last(0);
        } finally {
            kv.release(row);
        }
    }

    @ParameterizedTest
    @EnumSource(ComputeBackendKind.class)
    void pageSizesOneSixteenAndContiguousAgree(ComputeBackendKind backend) {
        try (EngineFixture f = new EngineFixture(backend)) {
            int[] seq = tokens(50, 6);
            float[][] ref;
            try (PagedKvCache contiguous = f.model.newKvCache(512, 512, 1, 512)) {
                // One page as long as the context: each request's K/V is one contiguous block.
                ref = f.prefill(contiguous, seq, 0);
            }
            for (int pageSize : new int[] {1, 16, 7}) {
                try (PagedKvCache kv = f.model.newKvCache(pageSize, 512, 4, 512)) {
                    // Take a few pages first so this request's pages are not the lowest ones.
                    int other = kv.allocateRow();
                    kv.ensureCapacity(other, 3 * pageSize);
                    float[][] got = f.prefill(kv, seq, 0);
                    for (int i = 0; i < seq.length; i++) {
                        assertArrayEquals(ref[i], got[i], "page size " + pageSize + ", token " + i);
                    }
                    kv.release(other);
                }
            }
        }
    }

    /**
     * However many compute threads split the work (matmul panels, attention groups, and the per-row norms, RoPE and
     * K/V writes between the kernels), every logit keeps its bits: one thread runs each step whole on the caller,
     * three split a 40-token prompt's rows into many pieces.
     */
    @org.junit.jupiter.api.Test
    void threadCountChangesNoBit() {
        int[] seq = tokens(40, 8);
        float[][] one;
        try (EngineFixture f = new EngineFixture(VECTOR, dev.tandem.TestModels.tiny(), dev.tandem.config.Quantization.NONE, 1);
             PagedKvCache kv = f.cache(16, 256)) {
            one = f.prefill(kv, seq, 0);
        }
        try (EngineFixture f = new EngineFixture(VECTOR, dev.tandem.TestModels.tiny(), dev.tandem.config.Quantization.NONE, 3);
             PagedKvCache kv = f.cache(16, 256)) {
            float[][] three = f.prefill(kv, seq, 0);
            for (int i = 0; i < seq.length; i++) {
                assertArrayEquals(one[i], three[i], "token " + i);
            }
        }
    }

    /**
     * A decode token over a context of several softmax chunks has the same bits alone (its chunks shared out between
     * the threads, combined at the end) as inside a batch (on three threads the tiny model's two tokens of two groups
     * share their query heads out in runs), and the same again with one thread (every group whole).
     */
    @org.junit.jupiter.api.Test
    void aLoneDecodeTokensSplitContextKeepsItsBits() {
        int[] a = tokens(150, 9); // three chunks of 64, the last partial
        int[] b = tokens(40, 10);
        float[] reference = null;
        for (int threads : new int[] {1, 3}) {
            try (EngineFixture f = new EngineFixture(VECTOR, dev.tandem.TestModels.tiny(),
                    dev.tandem.config.Quantization.NONE, threads);
                 PagedKvCache kv = f.cache(16, 512)) {
                int ra = kv.allocateRow();
                int rb = kv.allocateRow();
                kv.ensureCapacity(ra, a.length + 1);
                kv.ensureCapacity(rb, b.length + 1);
                f.model.transformer().forward(List.of(SequenceChunk.lastLogits(ra, 0, a),
                        SequenceChunk.lastLogits(rb, 0, b)), kv);
                float[] alone = f.model.transformer().forward(List.of(SequenceChunk.lastLogits(ra, a.length, 7)), kv)
                        .last(0).clone();
                ForwardOutput both = f.model.transformer().forward(List.of(SequenceChunk.lastLogits(ra, a.length, 7),
                        SequenceChunk.lastLogits(rb, b.length, 8)), kv);
                assertArrayEquals(alone, both.last(0), threads + " threads: alone vs batched");
                if (reference == null) {
                    reference = alone;
                } else {
                    assertArrayEquals(reference, alone, "1 thread vs " + threads);
                }
                kv.release(ra);
                kv.release(rb);
                assertEquals(kv.allocator().totalPages(), kv.allocator().freePages());
            }
        }
    }

    @org.junit.jupiter.api.Test
    void vectorBackendAgreesWithScalarReference() {
        // 200 tokens: the later ones attend over four softmax chunks, combined (the scalar reference does not chunk).
        int[] seq = tokens(200, 7);
        float[][] s;
        float[][] v;
        try (EngineFixture f = new EngineFixture(SCALAR); PagedKvCache kv = f.cache(16, 256)) {
            s = f.prefill(kv, seq, 0);
        }
        try (EngineFixture f = new EngineFixture(VECTOR); PagedKvCache kv = f.cache(16, 256)) {
            v = f.prefill(kv, seq, 0);
        }
        float worst = 0;
        for (int i = 0; i < seq.length; i++) {
            worst = Math.max(worst, maxAbsDiff(s[i], v[i]));
            assertEquals(dev.tandem.engine.sampling.Logprobs.argmax(s[i]), dev.tandem.engine.sampling.Logprobs.argmax(v[i]),
                    "argmax at token " + i);
        }
        assertTrue(worst < 2e-4f, "max |logit diff| vector vs scalar: " + worst);
    }
}
