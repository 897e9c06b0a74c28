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
 * <p>With a {@link HiCache} the prefix goes on past what the pool holds: pages the tree evicts are copied to host
 * memory (L2) first, finished pages are copied there as the write policy says, and on admission the pages that
 * follow the pool's match are copied back from host memory into fresh pool pages and inserted into the tree, so
 * the tree always describes the pool and the tiers are found by page key. A request's storage (L3) prefetch
 * starts when it is queued ({@link #queued}); it is admitted when {@link #ready} says its wait is over.
 */
final class PrefixCache {
    private final PagedKvCache kv;
    private final RadixCache tree; // null when disabled
    private final HiCache hi;      // null without the hierarchy
    private final int pageSize;
    private long hitTokens;

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
        kv.setReclaimer(tree::evict);
        PrefixCache c = new PrefixCache(kv, tree, hi);
        if (hi != null && hi.writePolicy() != HiCacheConfig.WritePolicy.WRITE_THROUGH_SELECTIVE) {
            // SGLang's selective policy drops what it did not back up; the others keep evicted pages in host memory
            tree.setEvictionListener((path, pages) -> {
                int total = path.length / c.pageSize;
                hi.backup(path, hi.keys(path, total), total - pages.length, pages);
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

    /** Whether {@code s}'s prefetch lets it be admitted now (see {@link HiCache#ready}). */
    boolean ready(RequestState s) {
        return hi == null || hi.ready(s.prefetch);
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
            m = fromTiers(s, want, m);
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

    /**
     * Extends the pool's match {@code m} of {@code want} with the pages host memory holds after it (a prefetch has
     * put storage's there): copied into fresh pool pages and inserted into the tree. Returns the new match.
     */
    private RadixCache.Match fromTiers(RequestState s, int[] want, RadixCache.Match m) {
        hi.settle(s.prefetch);
        s.prefetch = null;
        int inPool = m.tokens() / pageSize;
        int total = want.length / pageSize;
        hi.l1Hit(inPool);
        List<String> keys = hi.keys(want, total);
        if (hi.writePolicy() == HiCacheConfig.WritePolicy.WRITE_THROUGH_SELECTIVE && inPool > 0) {
            hi.backup(want, keys, 0, m.pages()); // reused: now worth a host copy
        }
        int n = hi.hostHits(keys, inPool);
        int loaded = 0;
        if (n > 0) {
            tree.lock(m); // eviction for the new pages must not take the prefix they extend
            int[] got = kv.allocator().allocate(n);
            if (got == null) {
                tree.evict(n - kv.allocator().freePages());
                got = kv.allocator().allocate(Math.min(n, kv.allocator().freePages()));
            }
            if (got != null && got.length > 0) {
                loaded = hi.load(keys, inPool, got);
                for (int i = loaded; i < got.length; i++) {
                    kv.allocator().free(got[i]);
                }
                if (loaded > 0) {
                    int[] pages = Arrays.copyOf(m.pages(), inPool + loaded);
                    System.arraycopy(got, 0, pages, inPool, loaded);
                    tree.insert(Arrays.copyOf(want, (inPool + loaded) * pageSize), pages);
                }
            }
            tree.unlock(m);
            if (loaded > 0) {
                m = tree.match(want);
            }
        }
        hi.missed(total - inPool - loaded);
        return m;
    }

    /**
     * Ends {@code s}'s use of the KV: with {@code keep}, its computed tokens are cached (the tree takes its
     * pages); otherwise only its own pages are freed. The prefix lock is dropped either way.
     */
    void release(RequestState s, boolean keep) {
        if (s.row < 0) {
            return;
        }
        if (tree == null && hi != null && keep && s.computed >= pageSize) {
            int[] tokens = s.fillSlice(0, s.computed);
            int whole = s.computed / pageSize;
            hi.backup(tokens, hi.keys(tokens, whole), 0, Arrays.copyOf(kv.pagesOf(s.row), whole));
        }
        if (tree != null && keep && s.computed > 0) {
            int[] pages = kv.detach(s.row);
            int[] tokens = s.fillSlice(0, s.computed);
            tree.insert(tokens, pages);
            if (hi != null && hi.writePolicy() == HiCacheConfig.WritePolicy.WRITE_THROUGH) {
                // The tree holds these pages now (duplicates were freed, not the prefix's own): copy what host
                // memory lacks while the pool still holds them.
                RadixCache.Match m = tree.match(tokens);
                int whole = m.tokens() / pageSize;
                hi.backup(tokens, hi.keys(tokens, whole), 0, m.pages());
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
        release(s, false);
        s.cachedTokens -= hit;
        hitTokens -= hit;
        s.computed = 0;
    }

    /** Drops every cached page, in the pool and in host memory (storage keeps its pages); false while busy. */
    boolean flush(boolean storage) {
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
