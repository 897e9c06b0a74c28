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
