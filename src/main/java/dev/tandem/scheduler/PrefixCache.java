package dev.tandem.scheduler;

import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.kvcache.RadixCache;
import dev.tandem.kvevents.KvEvent;

import java.util.List;

/**
 * How a scheduler uses the radix prefix cache (or runs without one: {@link #disabled}). On admission a request
 * borrows the cached pages of its longest page-aligned prefix, locked so eviction leaves them alone, and starts
 * computing after them; when it finishes, its computed tokens and pages go into the tree (duplicates and the
 * partial last page are freed) and the lock is dropped. A retracted or failed request only returns its own pages.
 * The tree owns cached pages; {@link PagedKvCache} asks it to evict when an allocation falls short.
 */
final class PrefixCache {
    private final PagedKvCache kv;
    private final RadixCache tree; // null when disabled
    private long hitTokens;

    private PrefixCache(PagedKvCache kv, RadixCache tree) {
        this.kv = kv;
        this.tree = tree;
    }

    /** A radix cache over {@code kv}'s pages that evicts when allocations fall short. */
    static PrefixCache radix(PagedKvCache kv) {
        RadixCache tree = new RadixCache(kv.pool().pageSize(), kv.allocator()::free);
        kv.setReclaimer(tree::evict);
        return new PrefixCache(kv, tree);
    }

    static PrefixCache disabled(PagedKvCache kv) {
        return new PrefixCache(kv, null);
    }

    boolean enabled() {
        return tree != null;
    }

    /**
     * Gives {@code s} (which has just got table row {@code s.row}, empty) the cached pages of its longest prefix
     * and sets {@code s.computed} after them. At least one token is left to compute (its logits give the next
     * token), and prompt logprobs that were asked for are never skipped.
     */
    void attach(RequestState s) {
        if (tree == null || s.row < 0) {
            return;
        }
        int limit = s.fillLen() - 1;
        if (!s.inputLogprobsDone) {
            limit = Math.min(limit, Math.max(s.req.logprobStartLen() - 1, 0));
        }
        if (limit < kv.pool().pageSize()) {
            return;
        }
        RadixCache.Match m = tree.match(s.fillSlice(0, limit));
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
     * Ends {@code s}'s use of the KV: with {@code keep}, its computed tokens are cached (the tree takes its
     * pages); otherwise only its own pages are freed. The prefix lock is dropped either way.
     */
    void release(RequestState s, boolean keep) {
        if (s.row < 0) {
            return;
        }
        if (tree != null && keep && s.computed > 0) {
            int[] pages = kv.detach(s.row);
            tree.insert(s.fillSlice(0, s.computed), pages);
        } else {
            kv.release(s.row);
        }
        s.row = -1;
        if (s.prefix != null) {
            tree.unlock(s.prefix);
            s.prefix = null;
        }
    }

    /** Drops every cached page; false (nothing changed) while a request holds a cached prefix. */
    boolean flush() {
        return tree == null || tree.reset();
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

    List<KvEvent> takeEvents() {
        return tree == null ? List.of() : tree.takeEvents();
    }

    List<KvEvent> snapshot() {
        return tree == null ? List.of(new KvEvent.AllBlocksCleared()) : tree.snapshot();
    }
}
