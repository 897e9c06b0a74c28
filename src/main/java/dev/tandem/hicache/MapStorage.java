package dev.tandem.hicache;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@code cluster} L3 backend: pages in a {@link PageMap} shared by every worker of the cluster (a Hazelcast
 * distributed map with backups, so workers on different hosts share pages without a shared file system). Values
 * carry the same header and checksum as the {@code file} backend's files; a value that fails them is a miss and is
 * deleted. The size bound and eviction belong to the map (the worker configures Hazelcast's per-member LRU).
 */
public final class MapStorage implements HiCacheStorage {
    private final PageMap map;
    private final long pageBytes;
    private final AtomicLong damaged = new AtomicLong();

    /** @param pageBytes bytes of one page's payload (for {@link #usage()}) */
    public MapStorage(PageMap map, long pageBytes) {
        this.map = map;
        this.pageBytes = pageBytes;
    }

    @Override
    public boolean get(String key, MemorySegment target) {
        FileStorage.checkKey(key);
        byte[] v = map.get(key);
        if (v == null) {
            return false;
        }
        if (!PageCodec.decode(key, v, target)) {
            damaged.incrementAndGet();
            map.delete(key);
            return false;
        }
        return true;
    }

    @Override
    public boolean set(String key, MemorySegment value) {
        FileStorage.checkKey(key);
        try {
            map.set(key, PageCodec.encode(key, value));
            return true;
        } catch (RuntimeException e) { // the cluster refused (member leaving, out of memory): a backup, not a promise
            return false;
        }
    }

    @Override
    public boolean exists(String key) {
        FileStorage.checkKey(key);
        return map.containsKey(key);
    }

    @Override
    public boolean delete(String key) {
        FileStorage.checkKey(key);
        return map.delete(key);
    }

    @Override
    public void clear() {
        map.clear();
    }

    /** Entries of the whole map (every worker's), at the page size of this worker's layout. */
    @Override
    public Usage usage() {
        long n = map.size();
        return new Usage(n, n * pageBytes);
    }

    /** Values found damaged (and deleted) so far. */
    public long damaged() {
        return damaged.get();
    }

    @Override
    public void close() {
        // the map belongs to the cluster
    }
}
