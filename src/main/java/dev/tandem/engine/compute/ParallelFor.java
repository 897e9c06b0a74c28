package dev.tandem.engine.compute;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Splits an index range over a fixed pool of named compute threads (one per core by default). The pool is owned
 * here and stopped by {@link #close()}.
 */
final class ParallelFor implements AutoCloseable {
    /** Body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    private static final AtomicInteger POOLS = new AtomicInteger();
    private final ForkJoinPool pool;
    private final int threads;

    ParallelFor(int threads) {
        this.threads = threads;
        int id = POOLS.incrementAndGet();
        this.pool = new ForkJoinPool(threads, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("tandem-compute-" + id + "-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    int threads() {
        return threads;
    }

    /** Runs {@code body} over {@code [0, n)} in pieces of at least {@code grain} indices. */
    void run(int n, int grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int pieces = Math.max(1, Math.min(threads * 4, (n + grain - 1) / grain));
        if (pieces == 1 || threads == 1) {
            body.run(0, n);
            return;
        }
        pool.invoke(new Split(body, n, pieces, 0, pieces));
    }

    private static final class Split extends RecursiveAction {
        private final RangeBody body;
        private final int n;
        private final int pieces;
        private final int lo;
        private final int hi;

        Split(RangeBody body, int n, int pieces, int lo, int hi) {
            this.body = body;
            this.n = n;
            this.pieces = pieces;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                body.run((int) ((long) n * lo / pieces), (int) ((long) n * hi / pieces));
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Split(body, n, pieces, lo, mid), new Split(body, n, pieces, mid, hi));
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
