package dev.tandem.scheduler;

import dev.tandem.hicache.HiCache;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.kvcache.RadixCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The copies between the KV pool and host memory that {@link PrefixCache} has in flight on the tier's copy thread,
 * and what the radix tree learns when they land (scheduler thread only). A load (host to pool, started at a
 * request's admission) holds its pool prefix locked and its fresh pool pages aside until it lands; then its pages
 * join the tree (filling the host nodes on the path, or extending it) and the request may be admitted. A
 * write-through (pool to host) holds its pool path locked until its copy is in; then the tree records the host
 * handles. Host pages the host tier dropped are forgotten by the tree at each {@link #poll}.
 */
final class HostCopies {
    private final PagedKvCache kv;
    private final RadixCache tree;
    private final HiCache hi;
    private final int pageSize;
    /** Host-to-pool loads in flight; each holds its pool prefix locked until it lands. */
    private final List<Load> loads = new ArrayList<>();
    /** Write-through copies in flight; each holds its pool path locked until it lands. */
    private final List<WriteThrough> writes = new ArrayList<>();

    /** A load started at admission: {@code handles}' host pages into pool pages {@code dst} after {@code prefix}. */
    private static final class Load {
        final int[] tokens;
        final RadixCache.Match prefix;
        final int[] dst;
        final long[] handles;
        final CompletableFuture<Integer> copied;
        final int carried; // pages earlier loads of the same admission brought
        boolean landed;
        int pages; // copied, once landed

        Load(int[] tokens, RadixCache.Match prefix, int[] dst, long[] handles, CompletableFuture<Integer> copied,
             int carried) {
            this.carried = carried;
            this.tokens = tokens;
            this.prefix = prefix;
            this.dst = dst;
            this.handles = handles;
            this.copied = copied;
        }
    }

    /** A write-through in flight: the pool pages of {@code path} (locked) going to host memory. */
    private record WriteThrough(int[] path, RadixCache.Match locked, HiCache.Backup backup) {
    }

    HostCopies(PagedKvCache kv, RadixCache tree, HiCache hi) {
        this.kv = kv;
        this.tree = tree;
        this.hi = hi;
        this.pageSize = kv.pool().pageSize();
    }

    /** Whether {@code s}'s load (if any) has landed. */
    static boolean landed(RequestState s) {
        return s.load instanceof Load l && l.landed;
    }

    /** Pages the landed loads of {@code s}'s admission brought into the pool. */
    static int loaded(RequestState s) {
        return s.load instanceof Load l && l.landed ? l.carried + l.pages : 0;
    }

    /** Pages {@code s}'s last landed load brought (0: it made no progress). */
    static int lastLoaded(RequestState s) {
        return s.load instanceof Load l && l.landed ? l.pages : 0;
    }

    /**
     * Starts loading the host pages after {@code want}'s pool match for {@code s} ({@code carried}: pages earlier
     * loads of this admission brought); false when there are none or no pool page is free.
     */
    boolean startLoad(RequestState s, int[] want, int carried) {
        RadixCache.Match m = tree.match(want);
        int inPool = m.tokens() / pageSize;
        // the tree's host nodes, then pages host memory holds by key past them (a storage prefetch's)
        long[] inTree = m.hostHandles();
        long[] byKey = hi.hostHandles(hi.keys(want, want.length / pageSize), inPool + inTree.length);
        long[] handles = Arrays.copyOf(inTree, inTree.length + byKey.length);
        System.arraycopy(byKey, 0, handles, inTree.length, byKey.length);
        if (handles.length == 0) {
            return false;
        }
        tree.lock(m); // neither eviction nor anything else takes the prefix these pages extend
        int[] dst = allocate(handles.length);
        if (dst.length == 0) {
            tree.unlock(m);
            return false;
        }
        long[] used = Arrays.copyOf(handles, dst.length);
        Load l = new Load(Arrays.copyOf(want, (inPool + dst.length) * pageSize), m, dst, used, hi.load(used, dst),
                carried);
        loads.add(l);
        s.load = l;
        return true;
    }

    /**
     * Evicts at least {@code n} pages if it can. Write-throughs that landed unlock their pages first; when that is
     * not enough and some are still copying, it waits for them: the pages are what this step needs.
     */
    int reclaim(int n) {
        poll(false);
        int freed = tree.evict(n);
        if (freed < n && !writes.isEmpty()) {
            hi.awaitCopies();
            poll(false);
            freed += tree.evict(n - freed);
        }
        return freed;
    }

    /** Up to {@code n} free pool pages, evicting for them; possibly fewer (none: an empty array). */
    private int[] allocate(int n) {
        int[] got = kv.allocator().allocate(n);
        if (got == null) {
            reclaim(n - kv.allocator().freePages());
            int free = Math.min(n, kv.allocator().freePages());
            got = free == 0 ? null : kv.allocator().allocate(free);
        }
        return got == null ? new int[0] : got;
    }

    /**
     * Collects copies that finished: write-throughs give the tree their host handles and unlock their path;
     * with {@code land}, loads go into the tree (their pages join the host nodes or extend the path) and unlock
     * their prefix. Then the tree forgets host pages host memory let go of.
     */
    void poll(boolean land) {
        writes.removeIf(w -> {
            if (!w.backup().done().isDone()) {
                return false;
            }
            if (!w.backup().done().isCompletedExceptionally()) {
                tree.setHost(w.path(), w.backup().handles());
            }
            tree.unlock(w.locked());
            return true;
        });
        if (land) {
            loads.removeIf(l -> {
                if (!l.copied.isDone()) {
                    return false;
                }
                land(l);
                return true;
            });
        }
        for (long h : hi.takeDropped()) {
            tree.hostDropped(h);
        }
    }

    private void land(Load l) {
        int n = l.copied.isCompletedExceptionally() ? 0 : l.copied.join();
        if (n < l.handles.length && !l.copied.isCompletedExceptionally()) {
            tree.hostDropped(l.handles[n]); // host memory no longer holds it: a miss from here
        }
        for (int i = n; i < l.dst.length; i++) {
            kv.allocator().free(l.dst[i]);
        }
        if (n > 0) {
            int inPool = l.prefix.tokens() / pageSize;
            int[] pages = Arrays.copyOf(l.prefix.pages(), inPool + n);
            System.arraycopy(l.dst, 0, pages, inPool, n);
            int[] tokens = Arrays.copyOf(l.tokens, (inPool + n) * pageSize);
            tree.insert(tokens, pages); // host nodes on the path take these pages; the rest is a new leaf
            long[] hs = new long[inPool + n];
            Arrays.fill(hs, 0, inPool, RadixCache.NO_HOST);
            System.arraycopy(l.handles, 0, hs, inPool, n);
            tree.setHost(tokens, hs); // pages found by key have their host copy in the tree now too
        }
        tree.unlock(l.prefix);
        l.pages = n;
        l.landed = true;
    }

    /** Starts copying the pool pages of {@code m} (a path of {@code tokens}) that host memory lacks. */
    void writeThrough(int[] tokens, RadixCache.Match m) {
        int whole = m.tokens() / pageSize;
        if (whole == 0) {
            return;
        }
        int[] path = Arrays.copyOf(tokens, whole * pageSize);
        HiCache.Backup b = hi.backup(path, hi.keys(path, whole), 0, m.pages());
        if (b.done().isDone()) { // nothing to copy: host memory had every page (or no slot)
            tree.setHost(path, b.handles());
            return;
        }
        tree.lock(m); // the pool pages must not be reused before their copy is in
        writes.add(new WriteThrough(path, m, b));
    }
}
