package dev.tandem.engine.sampling;

import java.util.ArrayList;
import java.util.List;

/** Log-softmax and top-k selection over a logits row. */
public final class Logprobs {
    private Logprobs() {
    }

    /** {@code log_softmax(logits)} in a new array, computed in double for a stable sum. */
    public static float[] logSoftmax(float[] logits) {
        double logZ = logNormalizer(logits);
        float[] out = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = (float) (logits[i] - logZ);
        }
        return out;
    }

    /**
     * {@code log Σ exp(logits)}, computed as {@link #logSoftmax} does: {@code (float) (logits[i] - logNormalizer)} is
     * bit for bit its entry {@code i}, without the array (greedy sampling needs one entry per token).
     */
    public static double logNormalizer(float[] logits) {
        return logNormalizer(logits, 0, logits.length);
    }

    /** As {@link #logNormalizer(float[])} over {@code logits[from, from + len)}, read in place. */
    public static double logNormalizer(float[] logits, int from, int len) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = from; i < from + len; i++) {
            max = Math.max(max, logits[i]);
        }
        double sum = 0;
        for (int i = from; i < from + len; i++) {
            sum += Math.exp((double) logits[i] - max);
        }
        return max + Math.log(sum);
    }

    /** The {@code k} largest entries, largest first; ties go to the lower token id. */
    public static List<TokenLogprob> topK(float[] logprobs, int k) {
        k = Math.min(k, logprobs.length);
        if (k <= 0) {
            return List.of();
        }
        int[] idx = new int[k];
        int n = 0;
        for (int i = 0; i < logprobs.length; i++) {
            if (n < k) {
                idx[n++] = i;
                siftUp(idx, logprobs, n - 1);
            } else if (better(i, idx[0], logprobs)) {
                idx[0] = i;
                siftDown(idx, logprobs, k);
            }
        }
        List<TokenLogprob> out = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            out.add(null);
        }
        // Pop the min-heap from the worst to the best.
        for (int size = k; size > 0; size--) {
            out.set(size - 1, new TokenLogprob(logprobs[idx[0]], idx[0]));
            idx[0] = idx[size - 1];
            siftDown(idx, logprobs, size - 1);
        }
        return List.copyOf(out);
    }

    /** Index of the largest entry (the lowest index among equals). */
    public static int argmax(float[] v) {
        return argmax(v, 0, v.length);
    }

    /** Index (relative to {@code from}) of the largest of {@code v[from .. from + len)}, lowest among equals. */
    public static int argmax(float[] v, int from, int len) {
        int best = 0;
        for (int i = 1; i < len; i++) {
            if (v[from + i] > v[from + best]) {
                best = i;
            }
        }
        return best;
    }

    private static boolean better(int a, int b, float[] v) {
        return v[a] > v[b] || (v[a] == v[b] && a < b);
    }

    // Min-heap by "better": the root is the worst of the kept entries.
    private static void siftUp(int[] h, float[] v, int i) {
        while (i > 0) {
            int p = (i - 1) / 2;
            if (!better(h[p], h[i], v)) {
                break;
            }
            int t = h[p];
            h[p] = h[i];
            h[i] = t;
            i = p;
        }
    }

    private static void siftDown(int[] h, float[] v, int size) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            int r = l + 1;
            int worst = i;
            if (l < size && better(h[worst], h[l], v)) {
                worst = l;
            }
            if (r < size && better(h[worst], h[r], v)) {
                worst = r;
            }
            if (worst == i) {
                return;
            }
            int t = h[worst];
            h[worst] = h[i];
            h[i] = t;
            i = worst;
        }
    }
}
