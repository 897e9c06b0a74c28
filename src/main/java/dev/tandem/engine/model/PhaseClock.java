package dev.tandem.engine.model;

/**
 * Where a {@link Transformer}'s forward passes spend their time, phase by phase, summed over the passes run while it
 * is on ({@code bench-engine --phases}). Off by default: then {@link #start} and {@link #lap} read one field and
 * nothing else, so serving pays nothing for it. Each phase is the wall time of the calls it names on the forward's
 * caller thread (a parallel call's time is that of its slowest thread plus the fork/join), so the phases add up to
 * the forward passes' time. Used by one caller at a time, like the transformer.
 *
 * <p>Why it exists: the engine's figures (a decode step at N% of the read floor, a prefill at N% of the FMA peak)
 * say how far from a limit it runs but not where the rest goes; every pass at speeding it up started by timing the
 * layer's calls by hand. This is that timing, kept.
 */
public final class PhaseClock {
    /** The calls of a forward pass, in their order within a layer; the embedding and the LM head around them. */
    public enum Phase {
        EMBED("embed"),
        QKV("qkv"),
        ROPE_KV_WRITE("rope+kv write"),
        ATTENTION("attention"),
        O_PROJ("o_proj"),
        NORM_RESIDUAL("norm+residual"),
        GATE_UP("gate/up"),
        SWIGLU("swiglu"),
        DOWN("down"),
        LM_HEAD("final norm+lm_head");

        private final String label;

        Phase(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private static final Phase[] PHASES = Phase.values();

    private final long[] nanos = new long[PHASES.length];
    private boolean on;

    /** Starts or stops counting; what was counted stays until {@link #reset}. */
    public void counting(boolean on) {
        this.on = on;
    }

    public boolean counting() {
        return on;
    }

    /** Forgets what was counted. */
    public void reset() {
        java.util.Arrays.fill(nanos, 0);
    }

    /** A time stamp for the first {@link #lap} (0 when off). */
    long start() {
        return on ? System.nanoTime() : 0;
    }

    /** Counts the time since {@code since} as {@code phase}'s and returns the stamp for the next lap. */
    long lap(Phase phase, long since) {
        if (!on) {
            return 0;
        }
        long now = System.nanoTime();
        nanos[phase.ordinal()] += now - since;
        return now;
    }

    /** Nanoseconds counted for {@code phase}. */
    public long nanos(Phase phase) {
        return nanos[phase.ordinal()];
    }

    /** Nanoseconds counted over every phase. */
    public long totalNanos() {
        long sum = 0;
        for (long n : nanos) {
            sum += n;
        }
        return sum;
    }

    /**
     * "qkv 13.0%, attention 14.3%, ...": each phase's share of {@code wallNanos} (the time the caller measured around
     * the passes), then what was outside the forward passes (sampling, the caller's own work).
     */
    public String breakdown(long wallNanos) {
        StringBuilder sb = new StringBuilder();
        for (Phase p : PHASES) {
            sb.append(p.label()).append(' ').append(String.format("%.1f%%", 100.0 * nanos(p) / wallNanos)).append(", ");
        }
        return sb.append(String.format("outside the forward %.1f%%", 100.0 * (wallNanos - totalNanos()) / wallNanos))
                .toString();
    }
}
