package dev.tandem.config;

/**
 * Which compute backend runs the model ({@code --backend}), parsed once by {@link EngineConfig}; the factory
 * {@code engine/compute/ComputeBackends} builds the backend from it at start-up.
 */
public enum ComputeBackendKind {
    /** The Vector API on every core (or {@code --threads}); the only one that holds int8 weights. */
    VECTOR("vector"),
    /** The single-threaded scalar reference every other backend is checked against. */
    SCALAR("scalar");

    /** Spellings {@link #parse} accepts. */
    public static final String NAMES = "vector, scalar";

    private final String label;

    ComputeBackendKind(String label) {
        this.label = label;
    }

    /** As spelled on the command line, in config files and in {@code /get_server_info}. */
    public String label() {
        return label;
    }

    /** Exact spellings only (lower case), as the flag has always accepted. */
    public static ComputeBackendKind parse(String name) {
        return switch (name) {
            case "vector" -> VECTOR;
            case "scalar" -> SCALAR;
            default -> throw new IllegalArgumentException("backend: unknown '" + name + "' (choose " + NAMES + ")");
        };
    }
}
