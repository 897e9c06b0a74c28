package dev.tandem;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Bounded waits for a state that another thread, verticle or process reaches after the answer a test holds: a
 * snapshot published after the scheduler's round, a write finished on an I/O thread, a message on the bus. Polls
 * until the state holds; past the deadline, fails naming what it waited for. Never a fixed sleep.
 */
public final class Await {
    private static final long POLL_MS = 10;

    private Await() {
    }

    /** Polls {@code cond} until it holds; an {@link AssertionError} naming {@code what} once {@code limit} passed. */
    public static void until(String what, Duration limit, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not reached within " + limit.toMillis() / 1000.0 + " s: " + what);
            }
            Thread.sleep(POLL_MS);
        }
    }

    /**
     * Reads {@code probe} until its value satisfies {@code ok} and returns that value; past {@code limit}, fails
     * naming {@code what} and the last value read.
     */
    public static <T> T value(String what, Duration limit, Supplier<T> probe, Predicate<? super T> ok)
            throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            T v = probe.get();
            if (ok.test(v)) {
                return v;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not reached within " + limit.toMillis() / 1000.0 + " s: " + what
                        + " (last seen: " + v + ")");
            }
            Thread.sleep(POLL_MS);
        }
    }
}
