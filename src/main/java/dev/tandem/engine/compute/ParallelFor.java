package dev.tandem.engine.compute;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The compute pool: splits an index range over the calling thread (worker 0) plus {@code threads - 1} named helper
 * threads (workers 1..). A decode step makes over a hundred short fork/joins (a few per layer), so each one must be
 * cheap: nothing is allocated per call (the state below is reused, generation-stamped), and helpers spin for a short
 * while after each call and park only when calls stop coming (waking a parked thread costs tens of microseconds in a
 * VM, more than a small matmul). Pieces are claimed dynamically, so a core stolen by another process slows its
 * share only.
 *
 * <p>Each worker has a home run of pieces and its own claim word, on a cache line of its own: it claims its own
 * pieces without touching a line another core writes, and only when its run is used up does it take pieces from the
 * others' runs. It reports the pieces it ran once, when it leaves the call. (With one shared claim word and a shared
 * done counter, every piece cost two atomic updates on lines bouncing between the cores, ~0.5 µs each in this VM
 * and more while the memory system is loaded; measured in the forward pass, a one-token matmul spent ~10 µs of its
 * ~50 µs outside the kernels. Interleaved A/B of whole decode steps: +4-8% at batch 1, +3-5% at batch 32.)
 * Owned by its backend; {@link #close()} stops the helpers.
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

    /** Longs from one claim word to the next: 128 bytes, so no two workers' words share a cache line (or a pair). */
    private static final int PAD = 16;

    // The current call. Written by the caller before it publishes gen; read by helpers after they read gen.
    private RangeBody body;
    private int n;
    private int pieces;
    private final int[] homeEnd; // (worker) -> end of that worker's home run of pieces
    private volatile int gen;
    /**
     * Per worker, at index {@code (w + 1) * PAD}: (generation << 32) | next unclaimed piece of w's home run. The
     * generation stamp means a helper still on an old call can never claim a new call's piece.
     */
    private final AtomicLongArray claims;
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    ParallelFor(int threads) {
        this.threads = threads;
        this.helpers = new Thread[threads - 1];
        this.parked = new AtomicIntegerArray(Math.max(threads - 1, 0));
        this.claims = new AtomicLongArray((threads + 1) * PAD);
        this.homeEnd = new int[threads];
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
     * Runs {@code body} over {@code [0, n)} in pieces of at least {@code grain} indices (at most four per thread) and
     * returns when all are done. Not reentrant: one caller (the scheduler thread) at a time.
     */
    void run(int n, int grain, RangeBody body) {
        run(n, grain, 4, body);
    }

    /** As {@link #run(int, int, RangeBody)} in at most {@code piecesPerThread} pieces per thread. */
    void run(int n, int grain, int piecesPerThread, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int p = Math.max(1, Math.min(threads * piecesPerThread, (n + grain - 1) / grain));
        if (p == 1 || threads == 1) {
            body.run(0, n, 0);
            return;
        }
        int g = gen + 1;
        // Close the previous call's claim words before touching its fields: a helper still in that call's work()
        // may have read a claim word and be about to read the run ends; were the new ones visible to it while the
        // old word still matched, its CAS would take a piece that does not exist and count it done in this call,
        // which could then end early (seen as a helper running a null body). With the words changed first, that
        // CAS fails; getAndSet orders it after any CAS that did succeed, so that helper saw the old fields.
        for (int w = 0; w < threads; w++) {
            claims.getAndSet((w + 1) * PAD, ((long) g << 32) | Integer.MAX_VALUE);
        }
        this.body = body;
        this.n = n;
        this.pieces = p;
        done.set(0);
        failure.set(null);
        for (int w = 0; w < threads; w++) {
            homeEnd[w] = (int) ((long) p * (w + 1) / threads);
            claims.set((w + 1) * PAD, ((long) g << 32) | (int) ((long) p * w / threads));
        }
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

    /** Runs pieces of call {@code g}: this worker's home run first, then what is left of the others'. */
    private void work(int g, int worker) {
        int ran = 0;
        try {
            for (int k = 0; k < threads; k++) {
                int v = worker + k < threads ? worker + k : worker + k - threads;
                int slot = (v + 1) * PAD;
                while (true) {
                    long c = claims.get(slot);
                    if ((int) (c >>> 32) != g) {
                        return; // that call is over
                    }
                    int piece = (int) c;
                    if (piece >= homeEnd[v]) {
                        break; // v's run is used up
                    }
                    if (!claims.compareAndSet(slot, c, c + 1)) {
                        continue;
                    }
                    // The claimed piece keeps the caller waiting, so body/n/pieces still belong to generation g.
                    int total = pieces;
                    try {
                        if (failure.get() == null) {
                            body.run((int) ((long) n * piece / total), (int) ((long) n * (piece + 1) / total), worker);
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                    ran++;
                }
            }
        } finally {
            if (ran > 0) {
                done.addAndGet(ran); // once per worker and call: the caller is waiting for this
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
