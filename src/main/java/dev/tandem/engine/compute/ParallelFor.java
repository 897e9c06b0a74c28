package dev.tandem.engine.compute;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits an index range over the calling thread plus {@code threads - 1} named helper threads. A decode step makes
 * over a hundred short parallel calls, so waking parked threads each time (tens of microseconds in a VM) would cost
 * more than the work: helpers spin for a short while after each call and park only when calls stop coming.
 * Owned by its backend; {@link #close()} stops the helpers.
 */
final class ParallelFor implements AutoCloseable {
    /** Body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    private static final long SPIN_NANOS = 2_000_000; // keep spinning this long after the last call
    private static final AtomicInteger POOLS = new AtomicInteger();

    /** One call's work; a helper that wakes late finds its pieces all claimed and does nothing. */
    private record Job(RangeBody body, int n, int pieces, AtomicInteger next, AtomicInteger done,
                       AtomicReference<Throwable> failure) {
    }

    private final int threads;
    private final Thread[] helpers;
    private final AtomicIntegerArray parked;
    private volatile boolean closed;
    private volatile Job job;

    ParallelFor(int threads) {
        this.threads = threads;
        this.helpers = new Thread[threads - 1];
        this.parked = new AtomicIntegerArray(Math.max(threads - 1, 0));
        int id = POOLS.incrementAndGet();
        for (int i = 0; i < helpers.length; i++) {
            int idx = i;
            helpers[i] = Thread.ofPlatform().daemon().name("tandem-compute-" + id + "-" + (i + 1))
                    .start(() -> helperLoop(idx));
        }
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} in pieces of at least {@code grain} indices and returns when all are
     * done. Not reentrant: one caller (the scheduler thread) at a time.
     */
    void run(int n, int grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int p = Math.max(1, Math.min(threads * 4, (n + grain - 1) / grain));
        if (p == 1 || threads == 1) {
            body.run(0, n);
            return;
        }
        Job j = new Job(body, n, p, new AtomicInteger(), new AtomicInteger(), new AtomicReference<>());
        job = j;
        for (int i = 0; i < helpers.length; i++) {
            if (parked.get(i) == 1) {
                LockSupport.unpark(helpers[i]);
            }
        }
        work(j);
        while (j.done().get() < p) {
            Thread.onSpinWait();
        }
        Throwable t = j.failure().get();
        if (t != null) {
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }

    private static void work(Job j) {
        int total = j.pieces();
        int piece;
        while ((piece = j.next().getAndIncrement()) < total) {
            try {
                if (j.failure().get() == null) {
                    j.body().run((int) ((long) j.n() * piece / total), (int) ((long) j.n() * (piece + 1) / total));
                }
            } catch (Throwable t) {
                j.failure().compareAndSet(null, t);
            } finally {
                j.done().incrementAndGet();
            }
        }
    }

    private void helperLoop(int idx) {
        Job seen = null;
        long lastWork = System.nanoTime();
        while (!closed) {
            Job j = job;
            if (j != seen) {
                seen = j;
                work(j);
                lastWork = System.nanoTime();
            } else if (System.nanoTime() - lastWork < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                parked.set(idx, 1);
                // Re-check after announcing: a caller that published before seeing the flag will not unpark us.
                if (job == seen && !closed) {
                    LockSupport.park(this);
                }
                parked.set(idx, 0);
                lastWork = System.nanoTime();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : helpers) {
            LockSupport.unpark(t);
        }
        for (Thread t : helpers) {
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
