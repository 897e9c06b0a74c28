package dev.tandem.engine.compute;

import dev.tandem.config.KvDtype;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.tandem.engine.compute.AttentionBlocks.IS;
import static dev.tandem.engine.compute.AttentionBlocks.SS;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

/**
 * Attention of the query heads that share one K/V head (a GQA group) for one token, reading K and V in tiles of
 * {@link #TILE} positions: a tile (16 KB of F32 K at head size 64) comes from memory once and stays in L1 while every
 * head of the group reads it, instead of each head streaming the whole context again. Each head's arithmetic is the
 * per-head kernel's, in the same order (scores position by position, one vector accumulator per score, softmax with
 * {@link VectorExp}, values accumulated in position order, four accumulator vectors held in registers over a tile),
 * so the tiling changes no bit. K/V are F32 or bf16 (widened in registers). {@link AttentionBlocks} runs the score
 * loop 16 positions at a time (head size 64 on AVX-512) and the value loop three heads at a time, and
 * {@link GroupScoreBlocks} the score loop of three heads at a time, all with the same bits. The softmax runs over
 * chunks of positions whose partial results meet at the end ({@link AttentionChunks}), so one token's context can be
 * shared out between threads ({@link AttentionJob}) with the bits it has when one thread attends it whole.
 * Allocates nothing: scores, partials and scratch live in the caller's per-worker arrays.
 */
final class GroupedAttention {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int L = FS.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    /** Positions per tile: 64 rows of one K/V head (16 KB at head size 64, F32) fit L1 next to the queries. */
    static final int TILE = 64;

    private GroupedAttention() {
    }

    /**
     * K+V bytes up to which a cold context is touched ahead ({@link #touch}): one head's, or a token's whole rows.
     * More than a core's L2 (1 MB here): what spills waits in L3, still far closer than memory. Measured with one
     * model and the limit switched between alternating runs, 4 MB against the first choice of 512 KB (half an L2):
     * batch 32 at contexts of 700-956 +30% (whole rows of 1.3 MB now touched at once instead of head by head),
     * batch 8 there +18%, batch 8 at 1700-1956 +8-10%, batch 1 there +6-14%; 8 MB gave no more than 4.
     */
    static final long TOUCH_MAX_BYTES = 4L << 20;
    private static volatile int touchSink;

    /**
     * Whether token {@code t} is the first of its sequence in this batch (a decode step's only token, or a chunk's
     * first): its K/V were written steps ago and have left the caches, while later tokens of a chunk find them warm.
     */
    static boolean coldContext(AttentionBatch b, int t, int len, long headBytes) {
        return 2 * len * headBytes <= TOUCH_MAX_BYTES && (t == 0 || b.tableOffsets()[t - 1] != b.tableOffsets()[t]);
    }

    /**
     * {@link #touch}es token {@code t}'s K/V head {@code kvHead} over {@code [0, len)} if it is likely cold and fits
     * {@link #TOUCH_MAX_BYTES}. Called by
     * the backend before {@link #attend}, not from it: one more call in {@code attend} was enough for C2 to stop
     * inlining the bf16 score blocks into it, and every widened vector became a heap object again
     * (HotPathAllocationTest, head size 64, bf16 KV: ~500 KB per 32 steps).
     */
    static void touchIfCold(AttentionBatch b, int t, int kvHead, int len) {
        long headBytes = headBytes(b);
        if (coldContext(b, t, len, headBytes)) {
            touch(b.keys(), b.values(), b.table(), b.tableOffsets()[t], len, b.numKvHeads() * headBytes,
                    kvHead * headBytes, headBytes);
        }
    }

    /**
     * For a decode step of one token whose context is shared out by chunks ({@link AttentionChunks}): {@link #touch}es
     * the whole K/V rows of positions {@code [j0, j1)}, the run this thread attends, if they are likely cold and the
     * token's rows fit {@link #TOUCH_MAX_BYTES}. One sequential stream per page, every line by one thread once.
     */
    static void touchRunIfCold(AttentionBatch b, int j0, int j1) {
        if (coldContext(b, 0, b.positions()[0] + 1, rowBytes(b))) {
            touchRows(b, 0, j0, j1);
        }
    }

    /**
     * {@link #touch}es token {@code t}'s whole K/V rows (every K/V head) over {@code [0, len)} if they are likely
     * cold and fit, and says whether it did; the backend calls it when one worker is about to attend every group of
     * that token. A position's heads lie side by side, so whole rows are one sequential stream per page where one
     * head's rows are a {@code headBytes} chunk every {@code numKvHeads * headBytes}: interleaved A/B of decode
     * steps (cold rows of 16-272 positions), batch 32 +8%, batch 8 +6% over touching head by head.
     */
    static boolean touchRowsIfCold(AttentionBatch b, int t, int len) {
        if (!coldContext(b, t, len, rowBytes(b))) {
            return false;
        }
        touchRows(b, t, 0, len);
        return true;
    }

    /** Bytes of one K/V head of one position. */
    private static long headBytes(AttentionBatch b) {
        return (long) b.headDim() * b.kvDtype().bytes();
    }

    /** Bytes of one position's K (or V) row: every K/V head, side by side. */
    private static long rowBytes(AttentionBatch b) {
        return b.numKvHeads() * headBytes(b);
    }

    /** {@link #touch}es token {@code t}'s whole K and V rows of positions {@code [j0, j1)}. */
    private static void touchRows(AttentionBatch b, int t, int j0, int j1) {
        long rowBytes = rowBytes(b);
        touch(b.keys(), b.values(), b.table(), b.tableOffsets()[t] + j0, j1 - j0, rowBytes, 0, rowBytes);
    }

    /**
     * Reads one int of every cache line of {@code headBytes} at {@code headByte} of each of {@code len} positions'
     * K and V rows (one head's chunk, or whole rows) before the kernels do. The kernels wait on cold K/V
     * (one group at head size 64 on 267 positions: scores 9.7 µs cold, 3.3 µs warm) because each load feeds a chain
     * of FMAs and only so many fit the out-of-order window; this loop's loads depend on nothing, so many more lines
     * are in flight at once. The sum goes to a volatile so the loads are not removed. Changes no result.
     * Interleaved A/B of whole decode steps (both load orders): batch 32 +5-6%, batch 1 +1%.
     */
    private static void touch(MemorySegment keys, MemorySegment values, int[] table, int rowOff, int len,
                              long kvStride, long headByte, long headBytes) {
        int sum = 0;
        for (int j = 0; j < len; j++) {
            long at = table[rowOff + j] * kvStride + headByte;
            for (long o = 0; o < headBytes; o += 64) {
                sum += keys.get(ValueLayout.JAVA_INT_UNALIGNED, at + o);
                sum += values.get(ValueLayout.JAVA_INT_UNALIGNED, at + o);
            }
        }
        touchSink = sum;
    }

    /** Floats of score scratch one worker needs for contexts up to {@code maxLength}. */
    static int scoreScratch(AttentionBatch b, int maxLength) {
        return b.groupSize() * Math.min(maxLength, AttentionChunks.CHUNK);
    }

    /** Floats of the score blocks' scratch one worker needs (the accumulators live in the chunk partials). */
    static int blockScratch(AttentionBatch b) {
        return Math.max(AttentionBlocks.SCRATCH, GroupScoreBlocks.SCRATCH);
    }

    /** Floats of partial-result scratch for contexts up to {@code maxLength}: every chunk of {@code heads} heads. */
    static int partScratch(AttentionBatch b, int maxLength, int heads) {
        return AttentionChunks.count(maxLength) * heads * AttentionChunks.stride(b.headDim());
    }

    /**
     * Token {@code t}'s query heads {@code kvHead * g .. kvHead * g + g - 1} over positions {@code [0, len)}, chunk
     * by chunk ({@link AttentionChunks}). {@code scores}: {@code [g, CHUNK]}; {@code blockScratch}: the score
     * blocks' scratch; {@code part}: {@code [chunks, g, stride]}.
     */
    static void attend(AttentionBatch b, int t, int kvHead, int len, float[] scores, float[] blockScratch,
                       float[] part) {
        attend(b, t, kvHead, len, scores, blockScratch, part, 0, b.groupSize());
    }

    /**
     * As {@link #attend(AttentionBatch, int, int, int, float[], float[], float[])} for the group's heads
     * {@code [g0, g1)} only (a batch with fewer groups than the threads can share, and no lone token's chunks to
     * split instead, has its query heads shared out in equal runs).
     */
    static void attend(AttentionBatch b, int t, int kvHead, int len, float[] scores, float[] blockScratch,
                       float[] part, int g0, int g1) {
        int g = b.groupSize();
        int hd = b.headDim();
        int stride = AttentionChunks.stride(hd);
        int chunks = AttentionChunks.count(len);
        for (int c = 0; c < chunks; c++) {
            chunk(b, t, kvHead, c, len, scores, blockScratch, part, c * g * stride, g0, g1);
        }
        int qBase = t * b.numHeads() * hd + kvHead * g * hd;
        for (int gi = g0; gi < g1; gi++) {
            AttentionChunks.combine(part, gi * stride, g * stride, chunks, hd, b.out(), qBase + gi * hd);
        }
    }

    /**
     * Chunk {@code c} of a {@code context}-position attention of token {@code t}'s heads {@code [g0, g1)} of group
     * {@code kvHead}: its partial results go to {@code part[partOff + gi * stride ..]} ({@link AttentionChunks}).
     * Each head's arithmetic over the chunk is the per-head kernel's, in the same order.
     */
    static void chunk(AttentionBatch b, int t, int kvHead, int c, int context, float[] scores, float[] blockScratch,
                      float[] part, int partOff, int g0, int g1) {
        int g = b.groupSize();
        int hd = b.headDim();
        boolean bf16 = b.kvDtype() == KvDtype.BFLOAT16;
        int eb = bf16 ? 2 : 4;
        long kvStride = (long) b.numKvHeads() * hd * eb;
        long headByte = (long) kvHead * hd * eb;
        int first = c * AttentionChunks.CHUNK;
        int len = Math.min(context - first, AttentionChunks.CHUNK);
        int rowOff = b.tableOffsets()[t] + first; // the chunk's positions, seen as a context of their own
        int[] table = b.table();
        float[] q = b.q();
        MemorySegment keys = b.keys();
        MemorySegment values = b.values();
        int bound = FS.loopBound(hd);
        int qBase = t * b.numHeads() * hd + kvHead * g * hd;
        boolean blocks = AttentionBlocks.SCORE_BLOCKS && hd == 4 * L;
        for (int j0 = 0; j0 < len; j0 += TILE) {
            int j1 = Math.min(len, j0 + TILE);
            int gi = g0;
            // Three heads at a time load each K vector once (GroupScoreBlocks), the rest head by head; same bits.
            for (; blocks && gi + 3 <= g1; gi += 3) {
                int qOff = qBase + gi * hd;
                int sOff = gi * len;
                for (int j = j0; j < j1; j += L) {
                    int last = Math.min(L, j1 - j) - 1;
                    if (bf16) {
                        GroupScoreBlocks.scores16x3Bf16(q, qOff, keys, table, rowOff, j, kvStride, headByte,
                                b.scale(), scores, sOff, len, blockScratch, 0, last);
                    } else {
                        GroupScoreBlocks.scores16x3F32(q, qOff, keys, table, rowOff, j, kvStride, headByte,
                                b.scale(), scores, sOff, len, blockScratch, 0, last);
                    }
                }
            }
            for (; gi < g1; gi++) {
                int qOff = qBase + gi * hd;
                int sOff = gi * len;
                int j = j0;
                for (; blocks && j < j1; j += L) {
                    int last = Math.min(L, j1 - j) - 1;
                    if (bf16) {
                        AttentionBlocks.scores16Bf16(q, qOff, keys, table, rowOff, j, kvStride, headByte, b.scale(),
                                scores, sOff, blockScratch, 0, last);
                    } else {
                        AttentionBlocks.scores16F32(q, qOff, keys, table, rowOff, j, kvStride, headByte, b.scale(),
                                scores, sOff, blockScratch, 0, last);
                    }
                }
                for (; j < j1; j++) { // no blocks (not AVX-512, or a head size other than 4L): position by position
                    scores[sOff + j] = dot(q, qOff, keys, table[rowOff + j] * kvStride + headByte, hd, bf16)
                            * b.scale();
                }
            }
        }
        // The partials [m, l, accumulators] of heads g0..g1 are contiguous: zero them all, then set m and l; the
        // value loops below accumulate straight into them.
        int stride = AttentionChunks.stride(hd);
        java.util.Arrays.fill(part, partOff + g0 * stride, partOff + g1 * stride, 0f);
        for (int gi = g0; gi < g1; gi++) {
            int sOff = gi * len;
            float m = Maxima.max(scores, sOff, len);
            part[partOff + gi * stride] = m;
            part[partOff + gi * stride + 1] = VectorExp.expMinusMaxAndSum(scores, sOff, len, m);
        }
        int a0 = partOff + 2; // head gi's accumulators: part[a0 + gi * stride ..]
        int d4 = bound / (4 * L) * (4 * L);
        for (int j0 = 0; j0 < len; j0 += TILE) {
            int j1 = Math.min(len, j0 + TILE);
            // Four accumulator vectors per head stay in registers over the whole tile (each lane still adds its
            // positions in ascending order, so the bits are those of a load-fma-store per position, without the
            // store-to-load dependency from one position to the next); three heads at a time share the V loads.
            int h = g0;
            for (; h + 3 <= g1; h += 3) {
                for (int d = 0; d < d4; d += 4 * L) {
                    if (bf16) {
                        AttentionBlocks.values4x3Bf16(values, table, rowOff, j0, j1, kvStride,
                                headByte + (long) eb * d, scores, h * len, len, part, a0 + h * stride + d, stride);
                    } else {
                        AttentionBlocks.values4x3F32(values, table, rowOff, j0, j1, kvStride, headByte + 4L * d,
                                scores, h * len, len, part, a0 + h * stride + d, stride);
                    }
                }
            }
            for (; h < g1; h++) {
                for (int d = 0; d < d4; d += 4 * L) {
                    accumulate4(b, table, rowOff, j0, j1, kvStride, headByte + (long) eb * d, bf16, scores, h * len,
                            part, a0 + h * stride + d);
                }
            }
            if (d4 < hd) {
                for (int gi = g0; gi < g1; gi++) {
                    valuesFrom(d4, values, table, rowOff, j0, j1, kvStride, headByte, hd, bf16, scores, gi * len, part,
                            a0 + gi * stride);
                }
            }
        }
    }

    /**
     * The value loop for one head's elements {@code [d0, hd)} (what the four-vector blocks leave) over positions
     * {@code [j0, j1)}: a method of its own taking no vector, for the reason {@link #dot} gives.
     */
    private static void valuesFrom(int d0, MemorySegment values, int[] table, int rowOff, int j0, int j1,
                                   long kvStride, long headByte, int hd, boolean bf16, float[] scores, int sOff,
                                   float[] acc, int aOff) {
        int eb = bf16 ? 2 : 4;
        int bound = FS.loopBound(hd);
        int d = d0;
        for (; d < bound; d += L) {
            FloatVector a = FloatVector.fromArray(FS, acc, aOff + d);
            long at = headByte + (long) eb * d;
            if (bf16) {
                for (int j = j0; j < j1; j++) {
                    FloatVector v = ((IntVector) ShortVector.fromMemorySegment(SS, values,
                            table[rowOff + j] * kvStride + at, LE).convertShape(S2I, IS, 0)).lanewise(LSHL, 16)
                            .reinterpretAsFloats();
                    a = v.fma(FloatVector.broadcast(FS, scores[sOff + j]), a);
                }
            } else {
                for (int j = j0; j < j1; j++) {
                    a = FloatVector.fromMemorySegment(FS, values, table[rowOff + j] * kvStride + at, LE)
                            .fma(FloatVector.broadcast(FS, scores[sOff + j]), a);
                }
            }
            a.intoArray(acc, aOff + d);
        }
        for (; d < hd; d++) {
            float a = acc[aOff + d];
            for (int j = j0; j < j1; j++) {
                a += scores[sOff + j] * get(values, table[rowOff + j] * kvStride + headByte + (long) eb * d, bf16);
            }
            acc[aOff + d] = a;
        }
    }

    /**
     * {@code q[qOff .. qOff + hd) · K} for the K row at byte {@code base}: one position of the per-position loop. A
     * method of its own that takes and returns no vector, so whether C2 inlines it into {@code attend} (a large
     * method, near the inlining budget with the block kernels) cannot make it box the vectors it uses; the remainder
     * positions of a head size 64 context did box here in some compilations (HotPathAllocationTest). Its K loads
     * are written out too, as in {@link #valuesFrom} and {@link #accumulate4}: through a {@code load} helper that
     * returned a vector, a JVM that had run another head size or KV dtype first boxed one per position (a batch-1
     * step of the head-size-32 tiny model allocated 3.7 MB at ~1400 positions after GroupedAttentionTest had run in
     * the same JVM; TokenOutputAllocationTest failed in that order).
     */
    private static float dot(float[] q, int qOff, MemorySegment keys, long base, int hd, boolean bf16) {
        int eb = bf16 ? 2 : 4;
        int bound = FS.loopBound(hd);
        FloatVector dot = FloatVector.zero(FS);
        int d = 0;
        if (bf16) {
            for (; d < bound; d += L) {
                FloatVector k = ((IntVector) ShortVector.fromMemorySegment(SS, keys, base + 2L * d, LE)
                        .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
                dot = FloatVector.fromArray(FS, q, qOff + d).fma(k, dot);
            }
        } else {
            for (; d < bound; d += L) {
                dot = FloatVector.fromArray(FS, q, qOff + d)
                        .fma(FloatVector.fromMemorySegment(FS, keys, base + 4L * d, LE), dot);
            }
        }
        float s = Lanes.sum(dot);
        for (; d < hd; d++) {
            s += q[qOff + d] * get(keys, base + (long) eb * d, bf16);
        }
        return s;
    }

    /** {@code acc[a .. a + 4L) += Σ_j scores[sOff + j] · V[j][head .. head + 4L)} over positions {@code [j0, j1)}. */
    private static void accumulate4(AttentionBatch b, int[] table, int rowOff, int j0, int j1, long kvStride,
                                    long headByte, boolean bf16, float[] scores, int sOff, float[] acc, int a) {
        MemorySegment values = b.values();
        long vb = (long) L * (bf16 ? 2 : 4);
        FloatVector a0 = FloatVector.fromArray(FS, acc, a);
        FloatVector a1 = FloatVector.fromArray(FS, acc, a + L);
        FloatVector a2 = FloatVector.fromArray(FS, acc, a + 2 * L);
        FloatVector a3 = FloatVector.fromArray(FS, acc, a + 3 * L);
        for (int j = j0; j < j1; j++) {
            long base = table[rowOff + j] * kvStride + headByte;
            FloatVector p = FloatVector.broadcast(FS, scores[sOff + j]);
            if (bf16) {
                a0 = ((IntVector) ShortVector.fromMemorySegment(SS, values, base, LE)
                        .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats().fma(p, a0);
                a1 = ((IntVector) ShortVector.fromMemorySegment(SS, values, base + vb, LE)
                        .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats().fma(p, a1);
                a2 = ((IntVector) ShortVector.fromMemorySegment(SS, values, base + 2 * vb, LE)
                        .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats().fma(p, a2);
                a3 = ((IntVector) ShortVector.fromMemorySegment(SS, values, base + 3 * vb, LE)
                        .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats().fma(p, a3);
            } else {
                a0 = FloatVector.fromMemorySegment(FS, values, base, LE).fma(p, a0);
                a1 = FloatVector.fromMemorySegment(FS, values, base + vb, LE).fma(p, a1);
                a2 = FloatVector.fromMemorySegment(FS, values, base + 2 * vb, LE).fma(p, a2);
                a3 = FloatVector.fromMemorySegment(FS, values, base + 3 * vb, LE).fma(p, a3);
            }
        }
        a0.intoArray(acc, a);
        a1.intoArray(acc, a + L);
        a2.intoArray(acc, a + 2 * L);
        a3.intoArray(acc, a + 3 * L);
    }

    private static float get(MemorySegment s, long at, boolean bf16) {
        return bf16 ? Bf16KvAttention.get(s, at) : s.get(F32, at);
    }
}
