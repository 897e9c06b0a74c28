package dev.tandem.hicache;

import dev.tandem.kvcache.KvPool;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The tier's copy thread: pool pages to host slots (write-through and write-back) and host pages back into pool
 * pages (load-back), off the scheduler thread. The caller keeps the pages on both sides from being reused until
 * the copy's future completes: a pool page being written out stays locked in the radix tree (or is freed only
 * after), a host slot being filled stays reserved (pinned) until it is published here, a host page being read is
 * pinned by handle here, and a pool page being loaded belongs to nobody else until the scheduler takes it.
 * Owns the thread; {@link #close()} lets queued copies finish (bounded).
 */
final class PageCopier implements AutoCloseable {
    private final KvPool pool;
    private final HostTier host;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "tandem-hicache-copy");
        t.setDaemon(true);
        return t;
    });
    private volatile HiCache.CopyHook hook = load -> { };

    PageCopier(KvPool pool, HostTier host) {
        this.pool = pool;
        this.host = host;
    }

    void setHook(HiCache.CopyHook hook) {
        this.hook = hook;
    }

    /**
     * Copies pool pages {@code src[i]} into reserved host slots {@code slots[i]}, publishing each when its bytes
     * are in; then runs {@code published} (on the copy thread) with each page's index.
     */
    CompletableFuture<Void> toHost(int[] src, int[] slots, java.util.function.IntConsumer published) {
        return CompletableFuture.runAsync(() -> {
            hook.beforeCopy(false);
            for (int i = 0; i < src.length; i++) {
                try {
                    copy(host.slot(slots[i]), src[i], true);
                } catch (RuntimeException e) {
                    host.unpin(slots[i]); // never published: the slot goes back
                    throw e;
                }
                host.publish(slots[i]);
                published.accept(i);
            }
        }, thread);
    }

    /**
     * Copies the host pages {@code handles} name into pool pages {@code dst}, in order, stopping at the first page
     * host memory no longer holds; completes with how many were copied.
     */
    CompletableFuture<Integer> toPool(long[] handles, int[] dst) {
        return CompletableFuture.supplyAsync(() -> {
            hook.beforeCopy(true);
            int n = 0;
            for (; n < dst.length; n++) {
                int slot = host.pinHandle(handles[n]);
                if (slot < 0) {
                    break;
                }
                try {
                    copy(host.slot(slot), dst[n], false);
                } finally {
                    host.unpin(slot);
                }
            }
            return n;
        }, thread);
    }

    /** Waits (at most 60 s) until every copy queued so far has run. */
    void drain() {
        try {
            CompletableFuture.runAsync(() -> { }, thread).get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("hicache: interrupted waiting for page copies", e);
        } catch (Exception e) {
            throw new IllegalStateException("hicache: page copies did not drain in 60 s", e);
        }
    }

    /**
     * Pool page {@code page} (every layer's K and V) to or from {@code hostPage}, laid out
     * {@code [2 * layers, regionPageBytes]} with layer l's K at row 2l and V at row 2l+1.
     */
    private void copy(MemorySegment hostPage, int page, boolean toHost) {
        long pb = pool.pageBytes();
        for (int l = 0; l < pool.numLayers(); l++) {
            for (int v = 0; v < 2; v++) {
                MemorySegment region = v == 0 ? pool.keys(l) : pool.values(l);
                long at = (2L * l + v) * pb;
                if (toHost) {
                    MemorySegment.copy(region, page * pb, hostPage, at, pb);
                } else {
                    MemorySegment.copy(hostPage, at, region, page * pb, pb);
                }
            }
        }
    }

    @Override
    public void close() {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(30, TimeUnit.SECONDS)) {
                thread.shutdownNow();
                thread.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            thread.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
