package dev.tandem.engine.compute;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The compute pool: splits an index range over the calling thread (worker 0) plus {@code threads - 1} named helper
 * threads (workers 1..). A decode step makes over a hundred short fork/joins (a few per layer), so each one must be
 * cheap: nothing is allocated per call (the state below is reused, generation-stamped), and helpers spin for a short
 * while after each call and park only when calls stop coming (waking a parked thread costs tens of microseconds in a
 * VM, more than a small matmul). Pieces are claimed dynamically, so a core stolen by another process slows its
 * share only. Owned by its backend; {@link #close()} stops the helpers.
 */
final class ParallelFor implements AutoCloseable {
    /** Body of a parallel loop over {@code [from, to)}; {@code worker} indexes per-thread scratch. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to, int worker);
    }

    private static final long SPIN_NANOS = 2_000_000; // keep spinning this long after the last call
    private static final AtomicInteger POOLS = new AtomicInteger();

    private final int threads;
    private final Thread[] helpers;
    private final AtomicIntegerArray parked;
    private volatile boolean closed;

    // The current call. Written by the caller before it publishes gen; read by helpers after they read gen.
    private RangeBody body;
    private int n;
    private int pieces;
    private volatile int gen;
    /** (generation << 32) | next unclaimed piece: a helper still on an old call can never claim a new call's piece. */
    private final AtomicLong claim = new AtomicLong();
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

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

    /** The helper threads (worker 1..), for tests that account what they allocate. */
    Thread[] helperThreads() {
        return helpers.clone();
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
            body.run(0, n, 0);
            return;
        }
        int g = gen + 1;
        // Close the previous call's claim word before touching its fields: a helper still in that call's work()
        // may have read its claim and be about to read pieces; were the new (larger) count visible to it while the
        // old claim word still matched, its CAS would take a piece that does not exist and count it done in this
        // call, which could then end early (seen as a helper running a null body). With the word changed first,
        // that CAS fails; getAndSet orders it after any CAS that did succeed, so that helper saw the old fields.
        claim.getAndSet(((long) g << 32) | Integer.MAX_VALUE);
        this.body = body;
        this.n = n;
        this.pieces = p;
        done.set(0);
        failure.set(null);
        claim.set((long) g << 32);
        gen = g; // publishes the fields above
        for (int i = 0; i < helpers.length; i++) {
            if (parked.get(i) == 1) {
                LockSupport.unpark(helpers[i]);
            }
        }
        work(g, 0);
        while (done.get() < p) {
            Thread.onSpinWait();
        }
        this.body = null;
        Throwable t = failure.get();
        if (t != null) {
            failure.set(null);
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }

    private void work(int g, int worker) {
        while (true) {
            long c = claim.get();
            if ((int) (c >>> 32) != g) {
                return; // that call is over
            }
            int piece = (int) c;
            int total = pieces;
            if (piece >= total) {
                return;
            }
            if (!claim.compareAndSet(c, c + 1)) {
                continue;
            }
            // The claimed piece keeps the caller waiting, so body/n/pieces still belong to generation g.
            try {
                if (failure.get() == null) {
                    body.run((int) ((long) n * piece / total), (int) ((long) n * (piece + 1) / total), worker);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                done.incrementAndGet();
            }
        }
    }

    private void helperLoop(int idx) {
        int seen = gen;
        long lastWork = System.nanoTime();
        while (!closed) {
            int g = gen;
            if (g != seen) {
                seen = g;
                work(g, idx + 1);
                lastWork = System.nanoTime();
            } else if (System.nanoTime() - lastWork < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                parked.set(idx, 1);
                // Re-check after announcing: a caller that published before seeing the flag will not unpark us.
                if (gen == seen && !closed) {
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
