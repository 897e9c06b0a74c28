package dev.tandem.hicache;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * The one I/O thread between host memory and storage: prefetches (storage → host, a request's pages in order) and
 * backups (host → storage, page by page). Storage calls never run on the scheduler thread. Owns the thread and the
 * storage; {@link #close()} lets queued work finish (bounded) and closes both.
 */
final class StorageIo implements AutoCloseable {
    /** Queued storage writes past this are dropped (a backup, not a promise): the I/O thread cannot keep up. */
    private static final int MAX_PENDING_WRITES = 4096;

    private final HostTier host;
    private final HiCacheStorage storage;
    private final long pageBytes;
    private final HiCacheStats.Counters counters;
    private final ExecutorService io;
    private final AtomicInteger pendingWrites = new AtomicInteger();

    StorageIo(HostTier host, HiCacheStorage storage, long pageBytes, HiCacheStats.Counters counters) {
        this.host = host;
        this.storage = storage;
        this.pageBytes = pageBytes;
        this.counters = counters;
        this.io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "tandem-hicache-io");
            t.setDaemon(true);
            return t;
        });
    }

    HiCacheStorage storage() {
        return storage;
    }

    /**
     * Reads {@code keys[from..]} from storage into host memory in order, skipping pages host memory has and stopping
     * at the first page storage lacks or fails to verify (later pages are useless without it). {@code tag} gives
     * each page's host-tier tag (its KV event).
     */
    Prefetch prefetch(List<String> keys, int from, IntFunction<Object> tag) {
        Prefetch p = new Prefetch();
        List<String> ks = List.copyOf(keys);
        io.execute(() -> {
            try {
                readAhead(p, ks, from, tag);
            } finally {
                p.done = true;
            }
        });
        return p;
    }

    private void readAhead(Prefetch p, List<String> keys, int from, IntFunction<Object> tag) {
        int i = from + host.leadingHits(keys, from);
        int exist = storage.batchExists(keys.subList(i, keys.size()));
        for (int end = i + exist; i < end && !p.cancelled; i++) {
            String key = keys.get(i);
            if (host.contains(key)) {
                continue;
            }
            int slot = host.reserve(key, tag.apply(i));
            if (slot < 0) {
                break; // every host slot is busy
            }
            if (!storage.get(key, host.slot(slot))) {
                host.unpin(slot);
                counters.l3Misses.incrementAndGet();
                break;
            }
            host.publish(slot);
            p.pages++;
            counters.l3Hits.incrementAndGet();
            counters.l3BytesRead.addAndGet(pageBytes);
        }
        if (i < keys.size() && !p.cancelled) {
            counters.l3Misses.incrementAndGet();
        }
    }

    /** Queues host page {@code key} for storage; skipped when storage has it already. */
    void store(String key) {
        if (pendingWrites.incrementAndGet() > MAX_PENDING_WRITES) {
            pendingWrites.decrementAndGet();
            counters.l3WritesDropped.incrementAndGet();
            return;
        }
        io.execute(() -> {
            try {
                int slot = host.pin(key);
                if (slot < 0) {
                    counters.l3WritesDropped.incrementAndGet(); // evicted from host memory before its turn
                    return;
                }
                try {
                    if (!storage.exists(key)) {
                        if (storage.set(key, host.slot(slot))) {
                            counters.l3BytesWritten.addAndGet(pageBytes);
                        } else {
                            counters.l3WritesDropped.incrementAndGet();
                        }
                    }
                } finally {
                    host.unpin(slot);
                }
            } finally {
                pendingWrites.decrementAndGet();
            }
        });
    }

    /** Waits (at most 60 s) until every queued write and prefetch has run. */
    void drain() {
        try {
            io.submit(() -> { }).get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("hicache: storage I/O did not drain in 60 s", e);
        }
    }

    /** Removes every page from storage, after the queued I/O (so nothing lands after the clear). */
    void clear() {
        drain();
        storage.clear();
    }

    @Override
    public void close() {
        io.shutdown();
        try {
            if (!io.awaitTermination(30, TimeUnit.SECONDS)) {
                io.shutdownNow();
                io.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            io.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            storage.close();
        }
    }
}
