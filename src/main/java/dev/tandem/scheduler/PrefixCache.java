package dev.tandem.scheduler;

import dev.tandem.config.HiCacheConfig;
import dev.tandem.hicache.HiCache;
import dev.tandem.hicache.HiCacheStats;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.kvcache.RadixCache;
import dev.tandem.kvevents.KvEvent;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * How a scheduler uses the radix prefix cache (or runs without one: {@link #disabled}). On admission a request
 * borrows the cached pages of its longest page-aligned prefix, locked so eviction leaves them alone, and starts
 * computing after them; when it finishes, its computed tokens and pages go into the tree (duplicates and the
 * partial last page are freed) and the lock is dropped. A retracted or failed request only returns its own pages.
 * The tree owns cached pages; {@link PagedKvCache} asks it to evict when an allocation falls short.
 *
 * <p>With a {@link HiCache} the prefix goes on past what the pool holds, and the tree knows which tier holds each
 * node's pages (SGLang's HiRadixCache): a node the tree evicts keeps its host (L2) copies and stays as a host
 * node; finished pages are copied to host memory as the write policy says. Copies run on the tier's copy thread:
 * a write-through keeps its pool pages locked in the tree until it lands; write-back eviction waits for its copy
 * before the pages are freed. On admission ({@link #ready}) the host pages after the pool's match (the tree's
 * host nodes, then pages a storage prefetch put in host memory, found by key) start loading into fresh pool
 * pages; the request is admitted once they land and the tree took them, while the running batch goes on. A load
 * that comes up short (host memory let a page go) is a miss from there. A request's storage (L3) prefetch starts
 * when it is queued ({@link #queued}).
 */
final class PrefixCache {
    private final PagedKvCache kv;
    private final RadixCache tree; // null when disabled
    private final HiCache hi;      // null without the hierarchy
    private final int pageSize;
    private long hitTokens;
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

    private PrefixCache(PagedKvCache kv, RadixCache tree, HiCache hi) {
        this.kv = kv;
        this.tree = tree;
        this.hi = hi;
        this.pageSize = kv.pool().pageSize();
    }

    /** A radix cache over {@code kv}'s pages that evicts when allocations fall short. */
    static PrefixCache radix(PagedKvCache kv) {
        return radix(kv, null);
    }

    /** The same, with the tiers of {@code hi} (null: none) behind it. */
    static PrefixCache radix(PagedKvCache kv, HiCache hi) {
        RadixCache tree = new RadixCache(kv.pool().pageSize(), kv.allocator()::free);
        PrefixCache c = new PrefixCache(kv, tree, hi);
        kv.setReclaimer(c::reclaim);
        if (hi != null && hi.writePolicy() != HiCacheConfig.WritePolicy.WRITE_THROUGH_SELECTIVE) {
            // SGLang's selective policy drops what it did not back up; the others keep evicted pages in host memory
            // Write-back (and a write-through that has not landed for some page): copy, then let the pool page go.
            tree.setEvictionListener((path, pages, host) -> {
                int total = path.length / c.pageSize;
                return hi.backupNow(path, hi.keys(path, total), total - pages.length, pages);
            });
        }
        return c;
    }

    static PrefixCache disabled(PagedKvCache kv) {
        return new PrefixCache(kv, null, null);
    }

    /**
     * No prefix cache, but each finished request's KV (its whole pages) is copied to host memory and from there
     * to storage: a decode worker's offload (SGLang's {@code --disaggregation-decode-enable-offload-kvcache}), so
     * the next turn's prefill finds the whole conversation in storage.
     */
    static PrefixCache offloadOnly(PagedKvCache kv, HiCache hi) {
        return new PrefixCache(kv, null, hi);
    }

    boolean enabled() {
        return tree != null;
    }

    /**
     * The prompt positions a cached prefix may cover: at least one token is left to compute (its logits give the
     * next token), and prompt logprobs that were asked for are never skipped.
     */
    private int limit(RequestState s) {
        int limit = s.fillLen() - 1;
        if (!s.inputLogprobsDone) {
            limit = Math.min(limit, Math.max(s.req.logprobStartLen() - 1, 0));
        }
        return limit;
    }

    /** {@code s} joined the waiting queue: start reading the pages storage holds past what the pool has. */
    void queued(RequestState s) {
        if (hi == null || !hi.hasStorage() || s.prefetch != null) {
            return;
        }
        int limit = limit(s);
        if (limit < pageSize) {
            return;
        }
        int[] want = s.fillSlice(0, limit);
        RadixCache.Match m = tree.match(want);
        s.prefetch = hi.prefetch(want, hi.keys(want, limit / pageSize), m.tokens() / pageSize);
    }

    /**
     * Whether {@code s} may be admitted now: its storage prefetch is over as the policy says (see
     * {@link HiCache#ready}) and the host pages after its pool match are in the pool. The first time the prefetch
     * allows it, those pages start loading (a pool prefix locked, fresh pages allocated) and the answer is no until
     * they land; the running batch goes on meanwhile.
     */
    boolean ready(RequestState s) {
        if (hi == null || tree == null) {
            return true;
        }
        poll(true);
        if (s.load != null) {
            Load l = (Load) s.load;
            // Landed; one that was short of pool pages goes on where it stopped if pages are free now.
            return l.landed && (l.pages == 0 || !startLoad(s, l.carried + l.pages));
        }
        if (!hi.ready(s.prefetch)) {
            return false;
        }
        return !startLoad(s, 0);
    }

    /** Starts loading {@code s}'s host pages after its pool match; false when there are none (or no pool page). */
    private boolean startLoad(RequestState s, int carried) {
        int limit = limit(s);
        if (limit < pageSize) {
            return false;
        }
        hi.settle(s.prefetch); // what storage has brought to host memory is what this admission gets
        s.prefetch = null;
        int[] want = s.fillSlice(0, limit);
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
    private int reclaim(int n) {
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
    private void poll(boolean land) {
        if (hi == null) {
            return;
        }
        if (tree != null) {
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
        }
        long[] gone = hi.takeDropped();
        if (tree != null) {
            for (long h : gone) {
                tree.hostDropped(h);
            }
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
    private void writeThrough(int[] tokens, RadixCache.Match m) {
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

    /**
     * Gives {@code s} (which has just got table row {@code s.row}, empty) the cached pages of its longest prefix
     * and sets {@code s.computed} after them.
     */
    void attach(RequestState s) {
        if (tree == null || s.row < 0) {
            return;
        }
        int limit = limit(s);
        if (limit < pageSize) {
            return;
        }
        int[] want = s.fillSlice(0, limit);
        RadixCache.Match m = tree.match(want);
        if (hi != null) {
            count(s, want, m);
        }
        if (m.tokens() == 0) {
            return;
        }
        tree.lock(m);
        kv.adoptPrefix(s.row, m.pages());
        s.prefix = m;
        s.computed = m.tokens();
        s.cachedTokens += m.tokens();
        hitTokens += m.tokens();
    }

    /** Counts the hit per tier (pages just loaded are L2's) and makes a selective write-through of a reuse. */
    private void count(RequestState s, int[] want, RadixCache.Match m) {
        hi.settle(s.prefetch);
        s.prefetch = null;
        int loaded = s.load instanceof Load l && l.landed ? l.carried + l.pages : 0;
        s.load = null;
        int inPool = m.tokens() / pageSize;
        s.tierCounted = new int[] {Math.max(0, inPool - loaded), want.length / pageSize - inPool};
        hi.l1Hit(s.tierCounted[0]);
        hi.missed(s.tierCounted[1]);
        if (hi.writePolicy() == HiCacheConfig.WritePolicy.WRITE_THROUGH_SELECTIVE && inPool > 0) {
            writeThrough(want, m); // reused: now worth a host copy
        }
    }

    /**
     * Ends {@code s}'s use of the KV: with {@code keep}, its computed tokens are cached (the tree takes its
     * pages); otherwise only its own pages are freed. The prefix lock is dropped either way.
     */
    void release(RequestState s, boolean keep) {
        if (s.row < 0) {
            return;
        }
        poll(false);
        if (tree == null && hi != null && keep && s.computed >= pageSize) {
            // a decode worker's offload: the row's pages are freed right after, so this one waits for its copy
            int[] tokens = s.fillSlice(0, s.computed);
            int whole = s.computed / pageSize;
            hi.backupNow(tokens, hi.keys(tokens, whole), 0, Arrays.copyOf(kv.pagesOf(s.row), whole));
            poll(false);
        }
        if (tree != null && keep && s.computed > 0) {
            int[] pages = kv.detach(s.row);
            int[] tokens = s.fillSlice(0, s.computed);
            tree.insert(tokens, pages);
            if (hi != null && hi.writePolicy() == HiCacheConfig.WritePolicy.WRITE_THROUGH) {
                // The tree holds these pages now (duplicates were freed, not the prefix's own): copy what host
                // memory lacks, the path locked until the copy is in.
                writeThrough(tokens, tree.match(tokens));
            }
        } else {
            kv.release(s.row);
        }
        s.row = -1;
        if (s.prefix != null) {
            tree.unlock(s.prefix);
            s.prefix = null;
        }
    }

    /**
     * Takes back an {@link #attach} whose request could not be admitted after all (pages ran short): its row and
     * lock go, and its hit is not counted, since the next attempt attaches again.
     */
    void undoAttach(RequestState s) {
        int hit = s.prefix == null ? 0 : s.prefix.tokens();
        if (hi != null && s.tierCounted != null) { // the next attempt counts again
            hi.l1Hit(-s.tierCounted[0]);
            hi.missed(-s.tierCounted[1]);
        }
        s.tierCounted = null;
        release(s, false);
        s.cachedTokens -= hit;
        hitTokens -= hit;
        s.computed = 0;
    }

    /** Drops every cached page, in the pool and in host memory (storage keeps its pages); false while busy. */
    boolean flush(boolean storage) {
        if (hi != null) {
            hi.awaitCopies(); // every copy lands (and unlocks what it held) before the tree is dropped
            poll(true);
        }
        boolean done = tree == null || tree.reset();
        if (done && hi != null) {
            hi.clearHost();
            if (storage) {
                hi.clearStorage(); // after the queued writes (bounded wait): nothing lands after the clear
            }
        }
        return done;
    }

    /** Pages held only by the cache: free for the taking, so they do not count as used. */
    int evictablePages() {
        return tree == null ? 0 : tree.evictablePages();
    }

    int cachedPages() {
        return tree == null ? 0 : tree.cachedPages();
    }

    /** Prompt tokens served from the cache so far. */
    long hitTokens() {
        return hitTokens;
    }

    /** The tiers' counters, or null without the hierarchy. */
    HiCacheStats tierStats() {
        return hi == null ? null : hi.stats();
    }

    /**
     * The pool's events, then host memory's ({@code medium} "CPU"). The two queues are not interleaved in time;
     * a consumer keeps one set of tiers per block, so only a flush racing a storage prefetch can leave it a block
     * host memory no longer holds.
     */
    List<KvEvent> takeEvents() {
        poll(false);
        if (tree == null) {
            if (hi != null) {
                hi.takeEvents(); // a decode worker's host copies only stage its offload: no cache to announce
            }
            return List.of();
        }
        List<KvEvent> ev = tree.takeEvents();
        if (hi == null) {
            return ev;
        }
        List<KvEvent> all = new java.util.ArrayList<>(ev);
        all.addAll(hi.takeEvents());
        return all;
    }

    List<KvEvent> snapshot() {
        if (tree == null) {
            return List.of(new KvEvent.AllBlocksCleared());
        }
        List<KvEvent> all = new java.util.ArrayList<>(tree.snapshot());
        if (hi != null) {
            all.addAll(hi.snapshot());
        }
        return all;
    }
}
