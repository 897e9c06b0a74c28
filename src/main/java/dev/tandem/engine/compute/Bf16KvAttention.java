package dev.tandem.engine.compute;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * K/V stored as bf16 ({@code --kv-cache-dtype bf16}) for {@link GroupedAttention}: the kernels widen {@code L} bf16
 * values by loading them as a half-width short vector, sign-extending to ints and shifting into the upper half of
 * each lane, which is exactly the float they encode. That widening is written out at each use (a helper returning a
 * vector that C2 does not inline boxes it: allocation on the hot path), so only the scalar read lives here. The
 * attention loop and its summation order are the F32 ones, so a bf16 pool gives the same bits as an F32 pool holding
 * the same bf16-rounded values.
 */
final class Bf16KvAttention {
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Bf16KvAttention() {
    }

    /** The bf16 value at byte {@code at} of {@code s}, widened to a float. */
    static float get(MemorySegment s, long at) {
        return Float.intBitsToFloat(s.get(BF16, at) << 16);
    }
}
