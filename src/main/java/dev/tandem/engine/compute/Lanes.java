package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Horizontal sums in a fixed order. {@code reduceLanes(ADD)} adds lanes in one order when compiled and another when
 * interpreted, which would make a result depend on JIT state; a butterfly of lane swaps and adds is exact
 * lane-wise arithmetic, so every result is reproducible and independent of batch composition.
 */
final class Lanes {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Float> X8 = VectorShuffle.fromOp(FS, i -> (i ^ 8) & (FS.length() - 1));
    private static final VectorShuffle<Float> X4 = VectorShuffle.fromOp(FS, i -> (i ^ 4) & (FS.length() - 1));
    private static final VectorShuffle<Float> X2 = VectorShuffle.fromOp(FS, i -> (i ^ 2) & (FS.length() - 1));
    private static final VectorShuffle<Float> X1 = VectorShuffle.fromOp(FS, i -> (i ^ 1) & (FS.length() - 1));

    private Lanes() {
    }

    /**
     * Sum of {@code buf[off .. off + n)} ({@code n} a power of two) in the same pairwise order as {@link
     * #sum(FloatVector)}: element i meets i + n/2, then i + n/4, ...; float addition is commutative, so both give
     * the same bits.
     */
    static float sum(float[] buf, int off, int n) {
        for (int step = n / 2; step > 0; step >>= 1) {
            for (int i = 0; i < step; i++) {
                buf[off + i] += buf[off + i + step];
            }
        }
        return buf[off];
    }

    /** Sum of the lanes of {@code v} (a vector of the preferred species). */
    static float sum(FloatVector v) {
        switch (v.length()) {
            case 16:
                v = v.add(v.rearrange(X8));
                // fall through
            case 8:
                v = v.add(v.rearrange(X4));
                v = v.add(v.rearrange(X2));
                v = v.add(v.rearrange(X1));
                return v.lane(0);
            default:
                float[] tmp = v.toArray();
                for (int step = tmp.length / 2; step > 0; step >>= 1) {
                    for (int i = 0; i < step; i++) {
                        tmp[i] += tmp[i + step];
                    }
                }
                return tmp[0];
        }
    }
}
