package dev.tandem.engine.compute;

import dev.tandem.config.Quantization;
import java.util.Locale;

/** The one place a compute backend is chosen, by name, at start-up. */
public final class ComputeBackends {
    private ComputeBackends() {
    }

    /** Names accepted by {@link #create}. */
    public static final String NAMES = "vector, scalar";

    /**
     * @param name    "vector" (Vector API on every core) or "scalar" (the single-threaded reference)
     * @param threads compute threads for the vector backend; 0 means one per available core
     */
    public static ComputeBackend create(String name, int threads) {
        return create(name, threads, Quantization.NONE);
    }

    /** As above, holding linear weights as {@code quantization} says (the vector backend only). */
    public static ComputeBackend create(String name, int threads, Quantization quantization) {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        if (quantization != Quantization.NONE && !name.equalsIgnoreCase("vector")) {
            throw new IllegalArgumentException("quantization: " + quantization.name().toLowerCase(Locale.ROOT)
                    + " needs the vector backend, not '" + name + "'");
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "vector" -> new VectorBackend(n, quantization);
            case "scalar" -> new ScalarBackend();
            default -> throw new IllegalArgumentException("backend: unknown compute backend '" + name
                    + "' (choose " + NAMES + ")");
        };
    }

    /** A one-line description for the start-up log. */
    public static String describe(ComputeBackend b) {
        if (b instanceof VectorBackend v) {
            return "vector (" + VectorBackend.lanes() * 32 + "-bit SIMD, " + v.threads() + " threads"
                    + (v.quantization() == Quantization.NONE ? "" : ", int8 weights") + ")";
        }
        return b.name();
    }
}
