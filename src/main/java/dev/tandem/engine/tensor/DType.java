package dev.tandem.engine.tensor;

/** Element types a weight tensor may be stored in; names match the safetensors header. */
public enum DType {
    F32(4),
    F16(2),
    BF16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The safetensors spelling ("F32", "F16", "BF16"), or an error naming the unsupported value. */
    public static DType fromSafetensors(String name, String where) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException(where + ": unsupported dtype '" + name + "' (supported: F32, F16, BF16)");
    }

    /** bfloat16 bits → float: the upper half of an IEEE float. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** float → bfloat16 bits, round to nearest even (NaN stays NaN). */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }
}
