package dev.tandem.hicache;

import dev.tandem.config.HiCacheConfig;
import dev.tandem.kvcache.KvPool;
import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.TupleHash;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The tiers behind the KV pool (L1): host memory (L2, {@link HostTier}) and optional storage (L3,
 * {@link HiCacheStorage}), all keyed by {@link PageKeys}. The scheduler thread copies pages between the pool and
 * host memory (memory copies, synchronous); everything that touches storage runs on one I/O thread
 * ({@link StorageIo}): writing host pages to storage and prefetching a waiting request's pages into host memory.
 * A request's admission waits for its prefetch only as {@link HiCacheConfig.PrefetchPolicy} says, and never on
 * the scheduler thread. Owns the I/O thread, the host region and the storage; {@link #close()} frees them.
 */
public final class HiCache implements AutoCloseable {
    /** Even {@code wait_complete} gives up on a prefetch after this long (every wait has a deadline). */
    private static final long WAIT_COMPLETE_CAP_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final HiCacheConfig cfg;
    private final KvLayout layout;
    private final KvPool pool;
    private final HostTier host;
    private final HiCacheStats.Counters counters = new HiCacheStats.Counters();
    private final StorageIo io; // null: L2 only
    private volatile HiCacheStorage.Usage lastUsage = new HiCacheStorage.Usage(0, 0);
    private volatile boolean closed;
    /** Host-memory block events, queued by both threads in the host tier's order; the scheduler takes them. */
    private final java.util.concurrent.ConcurrentLinkedQueue<KvEvent> events =
            new java.util.concurrent.ConcurrentLinkedQueue<>();

    public HiCache(HiCacheConfig cfg, KvLayout layout, KvPool pool, HostTier host, HiCacheStorage storage) {
        if (layout.pageBytes() != 2L * pool.numLayers() * pool.pageBytes() || layout.pageBytes() != host.pageBytes()) {
            throw new IllegalArgumentException("hicache: layout " + layout + " does not match the KV pool or the "
                    + "host tier");
        }
        this.cfg = cfg;
        this.layout = layout;
        this.pool = pool;
        this.host = host;
        this.io = storage == null ? null : new StorageIo(host, storage, layout.pageBytes(), counters);
        host.setListener(new HostTier.Listener() {
            @Override
            public void published(Object tag) {
                if (tag instanceof KvEvent.BlockStored s) {
                    events.add(s);
                }
            }

            @Override
            public void dropped(Object tag) {
                if (tag instanceof KvEvent.BlockStored s) {
                    events.add(new KvEvent.BlockRemoved(s.blockHashes(), KvEvent.HOST));
                }
            }
        });
    }

    /**
     * The tiers {@code cfg} asks for behind {@code pool}, or null when the hierarchy is off: a host region of
     * {@code --hicache-size} GB or {@code --hicache-ratio} times the pool, and the storage backend.
     */
    public static HiCache create(HiCacheConfig cfg, String model, KvPool pool) {
        return create(cfg, model, pool, () -> {
            throw new IllegalStateException("hicache_storage_backend cluster needs a clustered worker (--cluster)");
        });
    }

    /** As above; {@code clusterMap} gives the cluster's page map when the backend is {@code cluster}. */
    public static HiCache create(HiCacheConfig cfg, String model, KvPool pool,
                                 java.util.function.Supplier<PageMap> clusterMap) {
        if (!cfg.enabled()) {
            return null;
        }
        KvLayout layout = KvLayout.of(model, pool);
        HiCacheStorage storage = switch (cfg.storageBackend()) {
            case NONE -> null;
            case FILE -> new FileStorage(cfg.storageDir(), cfg.storageMaxBytes());
            case CLUSTER -> new MapStorage(clusterMap.get(), layout.pageBytes());
        };
        HostTier host;
        try {
            host = new HostTier(layout.pageBytes(), cfg.hostPages(pool.numPages(), layout.pageBytes()));
        } catch (RuntimeException e) {
            if (storage != null) {
                storage.close();
            }
            throw e;
        }
        return new HiCache(cfg, layout, pool, host, storage);
    }

    /** What the tiers hold and their sizes, for the start-up log. */
    public String describe() {
        return String.format("host %d pages (%.1f MB), storage %s, write %s, prefetch %s", host.capacity(),
                host.capacity() * (double) host.pageBytes() / 1e6,
                io == null ? "none" : cfg.storageBackend() == HiCacheConfig.StorageBackend.FILE
                        ? "file " + cfg.storageDir() : "cluster map (" + cfg.backupCount() + " backups)",
                cfg.writePolicy().name().toLowerCase(), cfg.prefetchPolicy().name().toLowerCase());
    }

    public HiCacheConfig.WritePolicy writePolicy() {
        return cfg.writePolicy();
    }

    /** The storage keys of the first {@code pages} whole pages of {@code tokens}. */
    public List<String> keys(int[] tokens, int pages) {
        return PageKeys.keys(tokens, layout.pageSize(), pages, layout.suffix());
    }

    /**
     * Starts reading {@code keys[from..]} from storage into host memory, in order, stopping at the first page
     * storage lacks (later pages are useless without it). Pages already in host memory are skipped. Null when
     * there is no storage.
     */
    public Prefetch prefetch(int[] tokens, List<String> keys, int from) {
        if (io == null || from >= keys.size() || host.leadingHits(keys, from) == keys.size() - from) {
            return null;
        }
        int[] ts = tokens.clone();
        return io.prefetch(keys, from, page -> stored(ts, page));
    }

    /**
     * Whether a request may be admitted now, given its prefetch (null: none): always under {@code best_effort};
     * once it is done (or past its deadline) otherwise.
     */
    public boolean ready(Prefetch p) {
        if (p == null || p.done) {
            return true;
        }
        long waited = System.nanoTime() - p.startNanos;
        return switch (cfg.prefetchPolicy()) {
            case BEST_EFFORT -> true;
            case WAIT_COMPLETE -> waited > WAIT_COMPLETE_CAP_NANOS;
            case TIMEOUT -> waited > (long) (cfg.prefetchTimeoutS() * 1e9);
        };
    }

    /** The request is admitted: its prefetch stops where it is; the wait is recorded. */
    public void settle(Prefetch p) {
        if (p != null) {
            p.cancelled = true;
            counters.prefetchWaitNanos.addAndGet(System.nanoTime() - p.startNanos);
            counters.prefetches.incrementAndGet();
        }
    }

    /** How many of {@code keys[from..]}, leading, host memory holds. */
    public int hostHits(List<String> keys, int from) {
        return host.leadingHits(keys, from);
    }

    /**
     * Copies host pages {@code keys[from..from + dst.length)} into pool pages {@code dst}, stopping at a page host
     * memory no longer holds; returns how many were copied.
     */
    public int load(List<String> keys, int from, int[] dst) {
        int n = 0;
        for (; n < dst.length; n++) {
            int slot = host.pin(keys.get(from + n));
            if (slot < 0) {
                break;
            }
            try {
                copy(host.slot(slot), dst[n], false);
            } finally {
                host.unpin(slot);
            }
        }
        counters.l2Hits.addAndGet(n);
        return n;
    }

    /** Records pages no tier held for a request (they are computed). */
    public void missed(int pages) {
        counters.misses.addAndGet(pages);
    }

    /** Records pages found in the pool itself. */
    public void l1Hit(int pages) {
        counters.l1Hits.addAndGet(pages);
    }

    /**
     * Copies pool pages {@code src} (holding {@code keys[from..]}) that host memory lacks into it, and queues them
     * for storage. A page host memory cannot take now (every slot busy) is skipped: a backup, not a promise.
     */
    public void backup(int[] tokens, List<String> keys, int from, int[] src) {
        for (int i = 0; i < src.length; i++) {
            String key = keys.get(from + i);
            int slot = host.reserve(key, stored(tokens, from + i));
            if (slot < 0) {
                continue; // already there, or no slot free
            }
            copy(host.slot(slot), src[i], true);
            host.publish(slot);
            counters.l2Writes.incrementAndGet();
            if (io != null) {
                io.store(key);
            }
        }
    }

    /** The event for page {@code page} of {@code tokens} entering host memory (hashes as the radix tree's). */
    private KvEvent.BlockStored stored(int[] tokens, int page) {
        int ps = layout.pageSize();
        long h = TupleHash.hash(tokens, page * ps, (page + 1) * ps);
        Long parent = page == 0 ? null : TupleHash.hash(tokens, (page - 1) * ps, page * ps);
        List<Integer> ids = new java.util.ArrayList<>(ps);
        for (int t = page * ps; t < (page + 1) * ps; t++) {
            ids.add(tokens[t]);
        }
        return new KvEvent.BlockStored(List.of(h), parent, ids, ps, null, KvEvent.HOST);
    }

    /** Host-memory events since the last call, oldest first ({@code medium} {@link KvEvent#HOST}). */
    public List<KvEvent> takeEvents() {
        List<KvEvent> out = new java.util.ArrayList<>();
        for (KvEvent e; (e = events.poll()) != null; ) {
            out.add(e);
        }
        return out;
    }

    /** A {@code BlockStored} per page host memory holds now: the host part of a snapshot. */
    public List<KvEvent> snapshot() {
        List<KvEvent> out = new java.util.ArrayList<>();
        for (Object tag : host.tags()) {
            if (tag instanceof KvEvent.BlockStored s) {
                out.add(s);
            }
        }
        return out;
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

    /** Drops every host page (flush_cache); storage keeps its pages. */
    public void clearHost() {
        host.clear();
    }

    /** Removes every page from storage too (when asked: other workers may share it). Waits for queued I/O first. */
    public void clearStorage() {
        if (io != null) {
            io.clear();
        }
    }

    /** Waits (at most 60 s) until every queued storage write and prefetch has run. */
    public void drain() {
        if (io != null) {
            io.drain();
        }
    }

    /** The counters and what each tier holds; never throws (a scrape after close or a cluster outage). */
    public HiCacheStats stats() {
        if (io != null && !closed) {
            try {
                lastUsage = io.storage().usage();
            } catch (RuntimeException e) {
                // the cluster is unreachable or shutting down: report what was last known
            }
        }
        return counters.snapshot(host.pages(), host.capacity(), lastUsage);
    }

    public boolean hasStorage() {
        return io != null;
    }

    /** Lets queued writes finish (bounded), then frees the thread, the storage and the host region. */
    @Override
    public void close() {
        closed = true;
        try {
            if (io != null) {
                io.close();
            }
        } finally {
            host.close();
        }
    }
}
