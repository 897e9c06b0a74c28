package dev.tandem.engine.compute;

import dev.tandem.config.ComputeBackendKind;
import dev.tandem.config.Quantization;
import java.util.Locale;

/** The one place a compute backend is built, from the kind {@code config} parsed, at start-up. */
public final class ComputeBackends {
    private ComputeBackends() {
    }

    /**
     * @param kind    vector (Vector API on every core) or scalar (the single-threaded reference)
     * @param threads compute threads for the vector backend; 0 means one per available core
     */
    public static ComputeBackend create(ComputeBackendKind kind, int threads) {
        return create(kind, threads, Quantization.NONE);
    }

    /** As above, holding linear weights as {@code quantization} says (the vector backend only). */
    public static ComputeBackend create(ComputeBackendKind kind, int threads, Quantization quantization) {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return switch (kind) {
            case VECTOR -> new VectorBackend(n, quantization);
            case SCALAR -> {
                // EngineConfig refuses this combination with the flag's name; callers that build a backend
                // without an EngineConfig (tests, tools) get the same refusal here.
                if (quantization != Quantization.NONE) {
                    throw new IllegalArgumentException("quantization: " + quantization.name().toLowerCase(Locale.ROOT)
                            + " needs the vector backend, not '" + kind.label() + "'");
                }
                yield new ScalarBackend();
            }
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
