package dev.tandem.config;

import java.util.Locale;

/**
 * How the KV pool stores K and V ({@code --kv-cache-dtype}), chosen once at start-up. BF16 halves the pool's memory
 * and the bytes every KV transfer moves; values are rounded to nearest even when written and widened exactly when
 * attention reads them.
 */
public enum KvDtype {
    /** 4-byte IEEE floats, as computed (SGLang's {@code auto} on a float32 model). */
    FLOAT32(4, "float32"),
    /** bfloat16: the upper half of a float, round to nearest even. */
    BFLOAT16(2, "bf16");

    /** Spellings {@link #parse} accepts (SGLang's plus {@code float32}). */
    public static final String NAMES = "auto, float32, bf16, bfloat16";

    private final int bytes;
    private final String label;

    KvDtype(int bytes, String label) {
        this.bytes = bytes;
        this.label = label;
    }

    /** Bytes of one stored element. */
    public int bytes() {
        return bytes;
    }

    /** The canonical name: what peers compare and logs print. */
    public String label() {
        return label;
    }

    public static KvDtype parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "auto", "float32" -> FLOAT32;
            case "bf16", "bfloat16" -> BFLOAT16;
            default -> throw new IllegalArgumentException("kv-cache-dtype: unknown '" + name + "' (choose " + NAMES
                    + ")");
        };
    }

    /** float → bfloat16 bits, round to nearest even (NaN stays NaN). */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (f != f) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** bfloat16 bits → float (exact). */
    public static float fromBf16(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
