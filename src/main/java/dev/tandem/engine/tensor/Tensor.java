package dev.tandem.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A read-only view of a weight tensor in its stored element type (little-endian, row-major).
 * The segment usually points into an mmapped safetensors file; this view owns nothing.
 *
 * @param name  the tensor's name in the checkpoint
 * @param dtype stored element type
 * @param shape dimensions, outermost first
 * @param data  exactly {@code numel * dtype.bytes()} bytes
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    public Tensor {
        shape = shape.clone();
        long expected = numel(shape) * dtype.bytes();
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "': " + data.byteSize() + " bytes for shape "
                    + Arrays.toString(shape) + " of " + dtype + " (expected " + expected + ")");
        }
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long numel() {
        return numel(shape);
    }

    /** Rows of a 2-D tensor (out features of a linear layer). */
    public int rows() {
        return Math.toIntExact(shape[0]);
    }

    /** Columns of a 2-D tensor (in features of a linear layer); 1-D tensors have their length here. */
    public int cols() {
        return Math.toIntExact(shape[shape.length - 1]);
    }

    /** Element {@code i} in flat row-major order, widened to float. */
    public float get(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, i);
            case BF16 -> DType.bf16ToFloat(data.getAtIndex(I16, i));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, i));
        };
    }

    /** Copies {@code len} elements starting at flat index {@code from} into {@code dst[dstOff..]} as floats. */
    public void toFloats(long from, float[] dst, int dstOff, int len) {
        for (int i = 0; i < len; i++) {
            dst[dstOff + i] = get(from + i);
        }
    }

    /** The whole tensor as floats (for small tensors: norms, biases). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        toFloats(0, out, 0, out.length);
        return out;
    }

    @Override
    public String toString() {
        return "Tensor[" + name + " " + dtype + " " + Arrays.toString(shape) + "]";
    }
}
