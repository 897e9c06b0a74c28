package dev.tandem.scheduler;

import dev.tandem.config.HiCacheConfig;
import dev.tandem.hicache.HiCache;
import dev.tandem.hicache.HiCacheStats;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.kvcache.RadixCache;
import dev.tandem.kvevents.KvEvent;

import java.util.Arrays;
import java.util.List;

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
    private final HostCopies copies; // null without the hierarchy (or the tree)
    private PrefixCache(PagedKvCache kv, RadixCache tree, HiCache hi) {
        this.kv = kv;
        this.tree = tree;
        this.hi = hi;
        this.pageSize = kv.pool().pageSize();
        this.copies = hi == null || tree == null ? null : new HostCopies(kv, tree, hi);
    }

    /** A radix cache over {@code kv}'s pages that evicts when allocations fall short. */
    static PrefixCache radix(PagedKvCache kv) {
        return radix(kv, null);
    }

    /** The same, with the tiers of {@code hi} (null: none) behind it. */
    static PrefixCache radix(PagedKvCache kv, HiCache hi) {
        RadixCache tree = new RadixCache(kv.pool().pageSize(), kv.allocator()::free);
        PrefixCache c = new PrefixCache(kv, tree, hi);
        if (c.copies != null) {
            kv.setReclaimer(c.copies::reclaim);
        } else {
            kv.setReclaimer(tree::evict);
        }
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
            // Landed; one that was short of pool pages goes on where it stopped if pages are free now.
            return HostCopies.landed(s) && (HostCopies.lastLoaded(s) == 0 || !startLoad(s, HostCopies.loaded(s)));
        }
        if (!hi.ready(s.prefetch)) {
            return false;
        }
        return !startLoad(s, 0);
    }

    /** Collects finished copies ({@link HostCopies#poll}); a decode offload only drains dropped host handles. */
    private void poll(boolean land) {
        if (copies != null) {
            copies.poll(land);
        } else if (hi != null) {
            hi.takeDropped(); // no tree to tell
        }
    }

    /** Starts loading {@code s}'s host pages after its pool match; false when there are none (or no pool page). */
    private boolean startLoad(RequestState s, int carried) {
        int limit = limit(s);
        if (limit < pageSize) {
            return false;
        }
        hi.settle(s.prefetch); // what storage has brought to host memory is what this admission gets
        s.prefetch = null;
        return copies.startLoad(s, s.fillSlice(0, limit), carried);
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
        int loaded = HostCopies.landed(s) ? HostCopies.loaded(s) : 0;
        s.load = null;
        int inPool = m.tokens() / pageSize;
        s.tierCounted = new int[] {Math.max(0, inPool - loaded), want.length / pageSize - inPool};
        hi.l1Hit(s.tierCounted[0]);
        hi.missed(s.tierCounted[1]);
        if (hi.writePolicy() == HiCacheConfig.WritePolicy.WRITE_THROUGH_SELECTIVE && inPool > 0) {
            copies.writeThrough(want, m); // reused: now worth a host copy
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
                copies.writeThrough(tokens, tree.match(tokens));
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
