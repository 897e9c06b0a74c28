package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The softmax of a long context in fixed chunks of {@link #CHUNK} positions (flash-decoding's split of the keys):
 * each chunk {@code c} of a query head leaves a partial result, its own score maximum {@code m_c}, the sum
 * {@code l_c = Σ exp(s_j - m_c)} and the accumulators {@code a_c = Σ exp(s_j - m_c) · V_j} over its positions;
 * {@link #combine} rescales them to the largest maximum {@code M} and divides:
 * {@code out = (Σ_c a_c · w_c) / (Σ_c l_c · w_c)} with {@code w_c = exp(m_c - M)}, chunks in ascending order.
 *
 * <p>Why: a decode step of one request has too few GQA groups to share between the compute threads (three on two),
 * and each thread used to read every position's K/V of its groups, one group twice, latency-bound on memory. Split by
 * chunks instead, each thread reads its own run of positions' whole K/V rows once, in one stream, and the partials
 * meet in {@link #combine}. The chunks are fixed by position, never by threads or batch, so a token's output has the
 * same bits however it is batched or split (ForwardConsistencyTest); a context of one chunk ({@code w_0 = 1}) has
 * exactly the bits of the unchunked softmax.
 *
 * <p>Partial layout, {@link #stride} floats per chunk and head: {@code [m_c, l_c, a_c[0 .. headDim)]}.
 */
final class AttentionChunks {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    /** Positions per chunk: one attention tile, so a chunk's K/V rows (96 KB at 3 K/V heads of 64, F32) stay in L2. */
    static final int CHUNK = GroupedAttention.TILE;

    private AttentionChunks() {
    }

    /** Chunks of a context of {@code len} positions. */
    static int count(int len) {
        return (len + CHUNK - 1) / CHUNK;
    }

    /** Floats of one chunk's partial result for one query head. */
    static int stride(int headDim) {
        return headDim + 2;
    }

    /**
     * Combines {@code chunks} partials of one head, the first at {@code part[off]}, the next {@code chunkStride}
     * floats on, into {@code out[outOff .. outOff + headDim)}. Products and sums are separate roundings (no FMA), in
     * lanes and in the scalar tail alike, and the weights come from the scalar {@link VectorExp#exp(float)} (its own
     * polynomial and exact FMAs): the same bits on every path and JIT state. The chunk holding the maximum weighs 1.
     * Overwrites each chunk's maximum with its weight.
     */
    static void combine(float[] part, int off, int chunkStride, int chunks, int headDim, float[] out, int outOff) {
        float m = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < chunks; c++) {
            m = Math.max(m, part[off + c * chunkStride]);
        }
        // Each chunk's weight replaces its maximum (the partials are scratch, read only here), so the element loop
        // below keeps one sum in a register across the chunks and stores once.
        float l = 0f;
        for (int c = 0; c < chunks; c++) {
            int p = off + c * chunkStride;
            float w = part[p] == m ? 1f : VectorExp.exp(part[p] - m);
            part[p] = w;
            l = c == 0 ? part[p + 1] * w : l + part[p + 1] * w;
        }
        float inv = 1f / l;
        int bound = FS.loopBound(headDim);
        int d = 0;
        for (; d < bound; d += FS.length()) {
            FloatVector a = FloatVector.fromArray(FS, part, off + 2 + d).mul(part[off]);
            for (int c = 1; c < chunks; c++) {
                int p = off + c * chunkStride;
                a = a.add(FloatVector.fromArray(FS, part, p + 2 + d).mul(part[p]));
            }
            a.mul(inv).intoArray(out, outOff + d);
        }
        for (; d < headDim; d++) {
            float a = part[off + 2 + d] * part[off];
            for (int c = 1; c < chunks; c++) {
                int p = off + c * chunkStride;
                a = a + part[p + 2 + d] * part[p];
            }
            out[outOff + d] = a * inv;
        }
    }
}
