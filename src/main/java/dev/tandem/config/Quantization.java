package dev.tandem.config;

import java.util.Locale;

/** How linear weights are held for the kernels, chosen once at start-up ({@code --quantization}). */
public enum Quantization {
    /** As stored (BF16 repacked into panels; F16/F32 read in place). */
    NONE,
    /** Weight-only int8, one scale per output channel, made at load from any stored dtype. */
    INT8;

    /** Names accepted by {@link #parse}. */
    public static final String NAMES = "none, int8";

    public static Quantization parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "none" -> NONE;
            case "int8" -> INT8;
            default -> throw new IllegalArgumentException("quantization: unknown '" + name + "' (choose " + NAMES
                    + ")");
        };
    }
}
