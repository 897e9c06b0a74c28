package dev.tandem.engine.compute;

import dev.tandem.config.KvDtype;

import java.lang.foreign.MemorySegment;

/**
 * Everything one layer's attention needs for a ragged batch of {@code numTokens} tokens. Token {@code t} sits at
 * absolute position {@code positions[t]} of its request and attends to positions {@code 0..positions[t]}, whose K/V
 * slots are {@code table[tableOffsets[t] + j]}. Its own K/V must already be in the pool.
 *
 * <p>Mutable and reused: the forward pass fills one per call with {@link #set} and changes only the per-layer
 * regions with {@link #layer}, so a decode step allocates nothing for it.
 *
 * <ul>
 *   <li>{@code q}: queries after RoPE, {@code [numTokens, numHeads * headDim]}</li>
 *   <li>{@code out}: attention output, {@code [numTokens, numHeads * headDim]}</li>
 *   <li>{@code keys}: this layer's K region, {@code [slots, numKvHeads, headDim]} of {@code kvDtype} (F32 unless
 *       set); {@code values} the same</li>
 *   <li>{@code scale}: {@code 1 / sqrt(headDim)}</li>
 * </ul>
 */
public final class AttentionBatch {
    private float[] q;
    private float[] out;
    private int numTokens;
    private int[] positions;
    private int[] tableOffsets;
    private int[] table;
    private MemorySegment keys;
    private MemorySegment values;
    private int numHeads;
    private int numKvHeads;
    private int headDim;
    private float scale;
    private KvDtype kvDtype = KvDtype.FLOAT32;

    public AttentionBatch() {
    }

    public AttentionBatch(float[] q, float[] out, int numTokens, int[] positions, int[] tableOffsets, int[] table,
                          MemorySegment keys, MemorySegment values, int numHeads, int numKvHeads, int headDim,
                          float scale) {
        set(q, out, numTokens, positions, tableOffsets, table, numHeads, numKvHeads, headDim, scale);
        layer(keys, values);
    }

    /** Sets everything but the layer's K/V regions. */
    public AttentionBatch set(float[] q, float[] out, int numTokens, int[] positions, int[] tableOffsets, int[] table,
                              int numHeads, int numKvHeads, int headDim, float scale) {
        this.q = q;
        this.out = out;
        this.numTokens = numTokens;
        this.positions = positions;
        this.tableOffsets = tableOffsets;
        this.table = table;
        this.numHeads = numHeads;
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.scale = scale;
        return this;
    }

    /** Points at one layer's K and V regions. */
    public AttentionBatch layer(MemorySegment keys, MemorySegment values) {
        this.keys = keys;
        this.values = values;
        return this;
    }

    public float[] q() {
        return q;
    }

    public float[] out() {
        return out;
    }

    public int numTokens() {
        return numTokens;
    }

    public int[] positions() {
        return positions;
    }

    public int[] tableOffsets() {
        return tableOffsets;
    }

    public int[] table() {
        return table;
    }

    /** How the K/V regions store their elements (the pool's dtype). */
    public AttentionBatch kvDtype(KvDtype dtype) {
        this.kvDtype = dtype;
        return this;
    }

    public KvDtype kvDtype() {
        return kvDtype;
    }

    public MemorySegment keys() {
        return keys;
    }

    public MemorySegment values() {
        return values;
    }

    public int numHeads() {
        return numHeads;
    }

    public int numKvHeads() {
        return numKvHeads;
    }

    public int headDim() {
        return headDim;
    }

    public float scale() {
        return scale;
    }

    /** Query heads that share one KV head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Longest context any token of the batch attends to. */
    public int maxLength() {
        int m = 0;
        for (int t = 0; t < numTokens; t++) {
            m = Math.max(m, positions[t] + 1);
        }
        return m;
    }
}
