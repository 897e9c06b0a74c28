package dev.tandem.engine.model;

import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.kvcache.PagedKvCache;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs the engine's hot paths before a worker reports ready (SGLang warms its server up with a request before it
 * answers {@code /health}; {@code --skip-server-warmup} skips both). On the JVM it matters more: until C2 has
 * compiled the kernels they run interpreted, boxing every vector, so a fresh worker answered its first 20-token
 * prompt in 3.6 s and decoded at 49 tokens/s where a warm one takes ~30 ms and ~120 tokens/s (bench preset).
 *
 * <p>The passes: a prompt alone (the multi-token tiles, long attention), {@link #ROWS} - 1 prompts as one ragged
 * batch, decode steps over all rows (the batched tiles) and over one row (the one-token kernels). Rows and pages are
 * taken from the worker's own cache and given back, so its counts are what they were; the K/V written is never read
 * again (the pages are free). Prompts are fixed pseudo-random ids: nothing here depends on the tokenizer.
 */
public final class Warmup {
    /** Rows decoded together: four fill one batched GEMM tile. */
    static final int ROWS = 4;
    static final int PROMPT = 32;
    static final int DECODE_STEPS = 24;

    private Warmup() {
    }

    /** What a warm-up did: forward passes, tokens through them, wall time. */
    public record Stats(int forwards, int tokens, long millis) {
        @Override
        public String toString() {
            return forwards + " forward passes, " + tokens + " tokens, " + millis + " ms";
        }
    }

    /**
     * Warms {@code tf} up on {@code kv}, or does less when the pool is small: as many rows as it can hold (at least
     * one, else nothing). One caller at a time, before the scheduler owns the transformer.
     */
    public static Stats run(Transformer tf, PagedKvCache kv, int vocab) {
        long t0 = System.nanoTime();
        int length = PROMPT + DECODE_STEPS + 1;
        List<Integer> rows = new ArrayList<>(ROWS);
        int forwards = 0;
        int tokens = 0;
        try {
            while (rows.size() < ROWS) {
                int row = kv.allocateRow();
                if (row < 0) {
                    break;
                }
                rows.add(row);
                if (!kv.ensureCapacity(row, length)) {
                    rows.removeLast();
                    kv.release(row);
                    break;
                }
            }
            if (rows.isEmpty()) {
                return new Stats(0, 0, 0);
            }
            int[] next = new int[rows.size()];
            // A prompt alone, then the others as one ragged batch.
            next[0] = argmax(tf.forward(List.of(SequenceChunk.lastLogits(rows.getFirst(), 0, prompt(0, vocab))), kv),
                    0, vocab);
            forwards++;
            tokens += PROMPT;
            if (rows.size() > 1) {
                List<SequenceChunk> batch = new ArrayList<>();
                for (int i = 1; i < rows.size(); i++) {
                    batch.add(SequenceChunk.lastLogits(rows.get(i), 0, prompt(i, vocab)));
                }
                ForwardOutput out = tf.forward(batch, kv);
                for (int i = 1; i < rows.size(); i++) {
                    next[i] = argmax(out, i - 1, vocab);
                }
                forwards++;
                tokens += PROMPT * (rows.size() - 1);
            }
            // Decode: every row for the first half of the steps, then the first row alone.
            for (int s = 0; s < DECODE_STEPS; s++) {
                int n = s < DECODE_STEPS / 2 ? rows.size() : 1;
                List<SequenceChunk> step = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    step.add(SequenceChunk.lastLogits(rows.get(i), PROMPT + s, next[i]));
                }
                ForwardOutput out = tf.forward(step, kv);
                for (int i = 0; i < n; i++) {
                    next[i] = argmax(out, i, vocab);
                }
                forwards++;
                tokens += n;
            }
            return new Stats(forwards, tokens, (System.nanoTime() - t0) / 1_000_000);
        } finally {
            for (int row : rows) {
                kv.release(row);
            }
        }
    }

    /** Fixed pseudo-random ids for row {@code i} (an LCG: the same on every start). */
    static int[] prompt(int i, int vocab) {
        int[] p = new int[PROMPT];
        long x = 0x9E3779B97F4A7C15L * (i + 1);
        for (int k = 0; k < PROMPT; k++) {
            x = x * 6364136223846793005L + 1442695040888963407L;
            p[k] = (int) Long.remainderUnsigned(x >>> 17, vocab);
        }
        return p;
    }

    private static int argmax(ForwardOutput out, int chunk, int vocab) {
        return Logprobs.argmax(out.logits(), out.offset(chunk, 0), vocab);
    }
}
