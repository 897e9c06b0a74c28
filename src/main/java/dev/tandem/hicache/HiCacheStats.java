package dev.tandem.hicache;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What the tiers did, in pages: found in the pool (L1), copied back from host memory (L2), read from storage
 * (L3) into host memory, and needed but found nowhere; bytes through storage; the time admitted requests spent
 * between their prefetch's start and their admission; and what each tier holds now.
 */
public record HiCacheStats(long l1HitPages, long l2HitPages, long l3HitPages, long l3MissLookups, long missPages,
                           long l2WrittenPages, long l3BytesRead, long l3BytesWritten, long l3WritesDropped,
                           long prefetches, long prefetchWaitNanos, int hostPages, int hostCapacity,
                           long storagePages, long storageBytes) {

    static final class Counters {
        final AtomicLong l1Hits = new AtomicLong();
        final AtomicLong l2Hits = new AtomicLong();
        final AtomicLong l3Hits = new AtomicLong();
        final AtomicLong l3Misses = new AtomicLong();
        final AtomicLong misses = new AtomicLong();
        final AtomicLong l2Writes = new AtomicLong();
        final AtomicLong l3BytesRead = new AtomicLong();
        final AtomicLong l3BytesWritten = new AtomicLong();
        final AtomicLong l3WritesDropped = new AtomicLong();
        final AtomicLong prefetches = new AtomicLong();
        final AtomicLong prefetchWaitNanos = new AtomicLong();

        HiCacheStats snapshot(int hostPages, int hostCapacity, HiCacheStorage.Usage storage) {
            return new HiCacheStats(l1Hits.get(), l2Hits.get(), l3Hits.get(), l3Misses.get(), misses.get(),
                    l2Writes.get(), l3BytesRead.get(), l3BytesWritten.get(), l3WritesDropped.get(), prefetches.get(),
                    prefetchWaitNanos.get(), hostPages, hostCapacity, storage.pages(), storage.bytes());
        }
    }
}
