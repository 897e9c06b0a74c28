package dev.tandem.hicache;

import dev.tandem.config.HiCacheConfig;
import dev.tandem.kvcache.KvPool;
import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.TupleHash;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The tiers behind the KV pool (L1): host memory (L2, {@link HostTier}) and optional storage (L3,
 * {@link HiCacheStorage}), all keyed by {@link PageKeys}. Pages move between the pool and host memory on the
 * tier's copy thread ({@link PageCopier}): the scheduler reserves what a copy needs, starts it and collects it
 * later; everything that touches storage runs on one I/O thread ({@link StorageIo}): writing host pages to
 * storage and prefetching a waiting request's pages into host memory.
 * A request's admission waits for its prefetch only as {@link HiCacheConfig.PrefetchPolicy} says, and never on
 * the scheduler thread. Owns the I/O thread, the host region and the storage; {@link #close()} frees them.
 */
public final class HiCache implements AutoCloseable {
    /** Even {@code wait_complete} gives up on a prefetch after this long (every wait has a deadline). */
    private static final long WAIT_COMPLETE_CAP_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final HiCacheConfig cfg;
    private final KvLayout layout;
    private final HostTier host;
    private final HiCacheStats.Counters counters = new HiCacheStats.Counters();
    private final StorageIo io; // null: L2 only
    private final PageCopier copier;
    /** Handles of host pages dropped (LRU, clear), for the radix tree to forget; the scheduler takes them. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Long> dropped =
            new java.util.concurrent.ConcurrentLinkedQueue<>();

    /** Test hook: called on the copy thread before each copy job ({@code load}: host to pool). */
    @FunctionalInterface
    public interface CopyHook {
        void beforeCopy(boolean load);
    }

    /** A pool-to-host copy in flight: each page's host handle ({@code -1}: no copy) and when it is done. */
    public record Backup(long[] handles, java.util.concurrent.CompletableFuture<Void> done) {
    }
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
        this.host = host;
        this.io = storage == null ? null : new StorageIo(host, storage, layout.pageBytes(), counters);
        this.copier = new PageCopier(pool, host);
        host.setListener(new HostTier.Listener() {
            @Override
            public void published(Object tag) {
                if (tag instanceof KvEvent.BlockStored s) {
                    events.add(s);
                }
            }

            @Override
            public void dropped(Object tag, long handle) {
                if (tag instanceof KvEvent.BlockStored s) {
                    events.add(new KvEvent.BlockRemoved(s.blockHashes(), KvEvent.HOST));
                }
                dropped.add(handle);
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
            case FILE -> new FileStorage(cfg.storageDir(), cfg.storageMaxBytes(), cfg.storageFsync());
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

    /** The handles of the leading pages of {@code keys[from..]} host memory holds (storage's prefetched ones). */
    public long[] hostHandles(List<String> keys, int from) {
        long[] out = new long[keys.size() - from];
        int n = 0;
        for (; n < out.length; n++) {
            out[n] = host.handle(keys.get(from + n));
            if (out[n] < 0) {
                break;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /**
     * Starts copying the host pages {@code handles} name into pool pages {@code dst} on the copy thread; completes
     * with how many leading pages were copied (a page host memory let go of meanwhile ends it: a miss).
     */
    public java.util.concurrent.CompletableFuture<Integer> load(long[] handles, int[] dst) {
        return copier.toPool(handles, dst).thenApply(n -> {
            counters.l2Hits.addAndGet(n);
            return n;
        });
    }

    /** Handles of host pages dropped since the last call (the radix tree forgets them). */
    public long[] takeDropped() {
        List<Long> out = new java.util.ArrayList<>();
        for (Long h; (h = dropped.poll()) != null; ) {
            out.add(h);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Waits (at most 60 s) until every page copy started so far has finished. */
    public void awaitCopies() {
        copier.drain();
    }

    /** Test only: a hook run on the copy thread before each copy (to hold a copy back). */
    public void setCopyHook(CopyHook hook) {
        copier.setHook(hook);
    }

    /** Records pages no tier held for a request (they are computed); negative takes back an undone admission. */
    public void missed(int pages) {
        counters.misses.addAndGet(pages);
    }

    /** Records pages found in the pool itself; negative takes back an undone admission. */
    public void l1Hit(int pages) {
        counters.l1Hits.addAndGet(pages);
    }

    /**
     * Starts copying pool pages {@code src} (holding {@code keys[from..]}) that host memory lacks into it on the
     * copy thread, each queued for storage once in. A page host memory has already keeps its handle; one it cannot
     * take now (every slot busy) gets none: a backup, not a promise. The caller must keep the pool pages as they
     * are until {@link Backup#done()}.
     */
    public Backup backup(int[] tokens, List<String> keys, int from, int[] src) {
        long[] handles = new long[src.length];
        int[] copyFrom = new int[src.length];
        int[] slots = new int[src.length];
        String[] copyKeys = new String[src.length];
        int n = 0;
        for (int i = 0; i < src.length; i++) {
            String key = keys.get(from + i);
            handles[i] = host.handle(key);
            if (handles[i] >= 0) {
                continue;
            }
            int slot = host.reserve(key, stored(tokens, from + i));
            if (slot < 0) {
                continue; // every slot busy (or another writer was first)
            }
            handles[i] = host.handleOfSlot(slot);
            copyFrom[n] = src[i];
            slots[n] = slot;
            copyKeys[n++] = key;
        }
        if (n == 0) {
            return new Backup(handles, java.util.concurrent.CompletableFuture.completedFuture(null));
        }
        return new Backup(handles, copier.toHost(java.util.Arrays.copyOf(copyFrom, n), java.util.Arrays.copyOf(slots, n),
                i -> {
                    counters.l2Writes.incrementAndGet();
                    if (io != null) {
                        io.store(copyKeys[i]);
                    }
                }));
    }

    /**
     * {@link #backup}, waiting (at most 60 s) for the copy: write-back eviction, whose pool pages are freed right
     * after (SGLang's write-back waits for its copy too). Returns each page's host handle ({@code -1}: none).
     */
    public long[] backupNow(int[] tokens, List<String> keys, int from, int[] src) {
        Backup b = backup(tokens, keys, from, src);
        try {
            b.done().get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("hicache: interrupted waiting for a write-back copy", e);
        } catch (Exception e) {
            throw new IllegalStateException("hicache: a write-back copy did not finish in 60 s", e);
        }
        return b.handles();
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

    /** Waits (at most 60 s each) until every page copy, then every queued storage write and prefetch, has run. */
    public void drain() {
        copier.drain();
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
            copier.close(); // copies still queued publish into host memory and queue their storage writes
            if (io != null) {
                io.close();
            }
        } finally {
            host.close();
        }
    }
}
