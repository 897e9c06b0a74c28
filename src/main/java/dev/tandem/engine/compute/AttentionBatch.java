package dev.tandem.engine.compute;

import java.lang.foreign.MemorySegment;

/**
 * Everything one layer's attention needs for a ragged batch of {@code numTokens} tokens. Token {@code t} sits at
 * absolute position {@code positions[t]} of its request and attends to positions {@code 0..positions[t]}, whose K/V
 * slots are {@code table[tableOffsets[t] + j]}. Its own K/V must already be in the pool.
 *
 * @param q            queries after RoPE, {@code [numTokens, numHeads * headDim]}
 * @param out          attention output, {@code [numTokens, numHeads * headDim]}
 * @param keys         this layer's K region, {@code [slots, numKvHeads, headDim]} F32
 * @param values       this layer's V region, same shape
 * @param scale        {@code 1 / sqrt(headDim)}
 */
public record AttentionBatch(float[] q, float[] out, int numTokens, int[] positions, int[] tableOffsets, int[] table,
                             MemorySegment keys, MemorySegment values, int numHeads, int numKvHeads, int headDim,
                             float scale) {

    /** Query heads that share one KV head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }
}
