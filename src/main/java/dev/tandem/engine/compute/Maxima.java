package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The largest entry of a float range, in vectors: the value a scalar {@code Math.max} loop from -infinity returns
 * (the largest of a set does not depend on the order of the comparisons, and the vector MAX is {@code Math.max} lane
 * by lane: NaN wins, +0 beats -0). Scalar {@code Math.max} is a compare-and-blend sequence of several micro-ops per
 * entry: over attention's 64-score chunks it took longer than the exp after it (22% of a 512-token prefill's
 * attention), over a 49k-entry logits row ~25 µs. Used by attention's softmax and by sampling (argmax, the
 * log-normalizer).
 */
public final class Maxima {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int L = FS.length();

    private Maxima() {
    }

    /** {@code max(a[from .. from + n))}, -infinity for an empty range. */
    public static float max(float[] a, int from, int n) {
        // No vector lives from one iteration to the next: a loop-carried vector stayed boxed in some C2
        // compilations (HotPathAllocationTest saw ~2 objects a layer), so each block folds into the scalar.
        float m = Float.NEGATIVE_INFINITY;
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            int at = from + i;
            FloatVector x = FloatVector.fromArray(FS, a, at).max(FloatVector.fromArray(FS, a, at + L));
            FloatVector y = FloatVector.fromArray(FS, a, at + 2 * L).max(FloatVector.fromArray(FS, a, at + 3 * L));
            m = Math.max(m, x.max(y).reduceLanes(VectorOperators.MAX));
        }
        for (; i + L <= n; i += L) {
            m = Math.max(m, FloatVector.fromArray(FS, a, from + i).reduceLanes(VectorOperators.MAX));
        }
        for (; i < n; i++) {
            m = Math.max(m, a[from + i]);
        }
        return m;
    }
}
