package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Loads of K/V stored as bf16 ({@code --kv-cache-dtype bf16}) for {@link GroupedAttention}: {@code L} bf16 values
 * are loaded as a half-width short vector, sign-extended to ints and shifted into the upper half of each lane, which
 * is exactly the float they encode. The attention loop and its summation order are the F32 ones, so a bf16 pool
 * gives the same bits as an F32 pool holding the same bf16-rounded values.
 */
final class Bf16KvAttention {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SS = VectorSpecies.of(short.class,
            VectorShape.forBitSize(FS.vectorBitSize() / 2)); // L shorts: one float vector's worth of bf16
    private static final int L = FS.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private Bf16KvAttention() {
    }

    /** {@code L} bf16 values at byte {@code at} of {@code s}, widened to floats. */
    static FloatVector load(MemorySegment s, long at) {
        return ((IntVector) ShortVector.fromMemorySegment(SS, s, at, LE).convertShape(VectorOperators.S2I, IS, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static float get(MemorySegment s, long at) {
        return Float.intBitsToFloat(s.get(BF16, at) << 16);
    }
}
