package dev.tandem.gateway.policy;

import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.KvEventBatch;
import dev.tandem.kvevents.TupleHash;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * What each worker's prefix cache holds, as its KV events tell: per worker URL, block hash → parent block hash (null
 * for a sequence's first page). A prompt {@code t} is cached on a worker up to page {@code k} when every page
 * {@code j <= k}, hashed as {@code TupleHash.hash(t, j*bs, (j+1)*bs)}, is indexed with page {@code j-1}'s hash as its
 * parent (the kvevents README's parent rule). Thread-safe: one lock, since matching a prompt is a few map lookups
 * per page and event batches are small; a snapshot is built outside the lock ({@link #replace}).
 *
 * <p>Approximations, on purpose:
 * <ul>
 *   <li>One parent per hash, the latest store wins. A hash covers only its page's tokens, so the same page at two
 *       places of a worker's tree shares one entry: the place stored first no longer chains, and removing either
 *       place removes the entry. Matching then under-counts; with a complete event stream it never over-counts.</li>
 *   <li>Bounded memory: at most {@code maxBlocks} confirmed blocks over all workers (about 80 bytes each). Past it
 *       the worker holding the most blocks forgets its least recently stored or matched ones, so one huge cache
 *       cannot crowd out a small worker's index. Least recently used rather than oldest inserted: a shared system
 *       prompt is stored once and matched constantly, and forgetting it first would break every chain below it.</li>
 *   <li>Pending blocks: after routing a prompt, the policy records its pages on the chosen worker ahead of the
 *       worker's own events (as sgl-router inserts into its tree), so a burst of requests sharing a new prefix goes
 *       to one worker. They expire after {@code pendingTtl}, are confirmed by a store and dropped by a removal or a
 *       clear.</li>
 * </ul>
 */
public final class PrefixIndex {
    public static final int DEFAULT_MAX_BLOCKS = 1 << 20;
    public static final long DEFAULT_PENDING_TTL_MS = 30_000;

    private record Pending(Long parent, long expiresAtNanos) {
    }

    /** One worker's blocks. {@code blocks} is in access order: eviction takes the head. */
    private static final class Tree {
        final LinkedHashMap<Long, Long> blocks = new LinkedHashMap<>(16, 0.75f, true);
        final LinkedHashMap<Long, Pending> pending = new LinkedHashMap<>();
        /** Block hash → the tiers holding it (bit 0 the device pool, bit 1 host memory), for {@code blocks}. */
        final Map<Long, Integer> media = new HashMap<>();
        int blockSize;

        private static int bit(String medium) {
            return medium == null ? 1 : 2;
        }

        void apply(KvEvent e) {
            switch (e) {
                case KvEvent.BlockStored s -> {
                    // The largest size seen: SGLang reports a short last page with its own length.
                    blockSize = Math.max(blockSize, s.blockSize());
                    Long parent = s.parentBlockHash();
                    for (Long h : s.blockHashes()) {
                        boolean had = blocks.containsKey(h); // a first page's parent is null: ask for the key
                        blocks.remove(h); // re-stored: now the newest, with the latest parent
                        blocks.put(h, parent);
                        media.put(h, (had ? media.getOrDefault(h, 0) : 0) | bit(s.medium()));
                        pending.remove(h);
                        parent = h;
                    }
                }
                case KvEvent.BlockRemoved r -> {
                    // A block that left one tier (the pool) but is still in another (host memory) is still a hit.
                    for (Long h : r.blockHashes()) {
                        int left = media.getOrDefault(h, 0) & ~bit(r.medium());
                        if (left == 0) {
                            blocks.remove(h);
                            media.remove(h);
                            pending.remove(h);
                        } else {
                            media.put(h, left);
                        }
                    }
                }
                case KvEvent.AllBlocksCleared c -> {
                    blocks.clear();
                    media.clear();
                    pending.clear();
                }
            }
        }

        /** Pending blocks are stored in time order with one TTL, so the expired ones are at the head. */
        void purgeExpired(long now) {
            Iterator<Pending> it = pending.values().iterator();
            while (it.hasNext() && it.next().expiresAtNanos() - now <= 0) {
                it.remove();
            }
        }
    }

    private final Map<String, Tree> trees = new HashMap<>();
    private final long maxBlocks;
    private final long pendingTtlNanos;
    private final LongSupplier nanoClock;
    private long total;
    private long evictions;

    public PrefixIndex() {
        this(DEFAULT_MAX_BLOCKS);
    }

    public PrefixIndex(long maxBlocks) {
        this(maxBlocks, DEFAULT_PENDING_TTL_MS, System::nanoTime);
    }

    /** {@code nanoClock} ticks in nanoseconds (tests pass their own). */
    public PrefixIndex(long maxBlocks, long pendingTtlMs, LongSupplier nanoClock) {
        if (maxBlocks < 1) {
            throw new IllegalArgumentException("max_tree_size: " + maxBlocks + " (expected >= 1)");
        }
        this.maxBlocks = maxBlocks;
        this.pendingTtlNanos = TimeUnit.MILLISECONDS.toNanos(pendingTtlMs);
        this.nanoClock = nanoClock;
    }

    /** Applies {@code batch}'s events in order to {@code worker}'s blocks. */
    public synchronized void apply(String worker, KvEventBatch batch) {
        Tree t = trees.computeIfAbsent(worker, w -> new Tree());
        int before = t.blocks.size();
        for (KvEvent e : batch.events()) {
            t.apply(e);
        }
        total += t.blocks.size() - before;
        enforceBound();
    }

    /**
     * Replaces {@code worker}'s blocks with what {@code snapshot} (a clear followed by every stored block) builds.
     * The tree is built outside the lock, so routing is not held up by a large snapshot. Pending blocks stay: the
     * requests they stand for may still be running.
     */
    public void replace(String worker, KvEventBatch snapshot) {
        Tree fresh = new Tree();
        for (KvEvent e : snapshot.events()) {
            fresh.apply(e);
        }
        synchronized (this) {
            Tree old = trees.put(worker, fresh);
            if (old != null) {
                total -= old.blocks.size();
                old.pending.forEach((h, p) -> {
                    if (!fresh.blocks.containsKey(h)) {
                        fresh.pending.put(h, p);
                    }
                });
                if (fresh.blockSize == 0) {
                    fresh.blockSize = old.blockSize;
                }
            }
            total += fresh.blocks.size();
            enforceBound();
        }
    }

    /** Forgets what {@code worker} holds (as AllBlocksCleared would), keeping what it taught about page size. */
    public synchronized void clear(String worker) {
        Tree t = trees.get(worker);
        if (t != null) {
            total -= t.blocks.size();
            t.apply(new KvEvent.AllBlocksCleared());
        }
    }

    /** Forgets {@code worker} entirely. */
    public synchronized void remove(String worker) {
        Tree t = trees.remove(worker);
        if (t != null) {
            total -= t.blocks.size();
        }
    }

    /**
     * How many leading tokens of {@code tokens} {@code worker} holds: whole pages only, confirmed or pending; 0 for a
     * worker without an index. Matched blocks count as used for eviction (deepest first, so a prefix outlives its
     * continuations).
     */
    public synchronized int matchedTokens(String worker, int[] tokens) {
        Tree t = trees.get(worker);
        if (t == null || t.blockSize <= 0 || tokens == null) {
            return 0;
        }
        int bs = t.blockSize;
        long now = nanoClock.getAsLong();
        List<Long> confirmed = new ArrayList<>();
        Long parent = null;
        int pages = 0;
        for (int k = 0; (k + 1) * bs <= tokens.length; k++) {
            long h = TupleHash.hash(tokens, k * bs, (k + 1) * bs);
            if (t.blocks.containsKey(h) && Objects.equals(t.blocks.get(h), parent)) {
                confirmed.add(h);
            } else {
                Pending p = t.pending.get(h);
                if (p == null || p.expiresAtNanos() - now <= 0 || !Objects.equals(p.parent(), parent)) {
                    break;
                }
            }
            parent = h;
            pages++;
        }
        for (int i = confirmed.size() - 1; i >= 0; i--) {
            t.blocks.get(confirmed.get(i)); // access order: deepest first, the root most recent
        }
        return pages * bs;
    }

    /**
     * Records {@code tokens}' whole pages as pending on {@code worker} (a request was just routed there). Does
     * nothing for a worker whose page size no event has told yet.
     */
    public synchronized void insertPending(String worker, int[] tokens) {
        Tree t = trees.get(worker);
        if (t == null || t.blockSize <= 0 || tokens == null) {
            return;
        }
        int bs = t.blockSize;
        long now = nanoClock.getAsLong();
        t.purgeExpired(now);
        Long parent = null;
        for (int k = 0; (k + 1) * bs <= tokens.length; k++) {
            long h = TupleHash.hash(tokens, k * bs, (k + 1) * bs);
            if (!(t.blocks.containsKey(h) && Objects.equals(t.blocks.get(h), parent))) {
                t.pending.remove(h); // re-inserted at the tail so the head stays the first to expire
                t.pending.put(h, new Pending(parent, now + pendingTtlNanos));
            }
            parent = h;
        }
        Iterator<Long> it = t.pending.keySet().iterator();
        while (t.pending.size() > maxBlocks && it.hasNext()) {
            it.next();
            it.remove();
        }
    }

    /** Confirmed blocks of {@code worker}. */
    public synchronized int size(String worker) {
        Tree t = trees.get(worker);
        return t == null ? 0 : t.blocks.size();
    }

    /** Pending blocks of {@code worker} that have not expired. */
    public synchronized int pendingSize(String worker) {
        Tree t = trees.get(worker);
        if (t == null) {
            return 0;
        }
        t.purgeExpired(nanoClock.getAsLong());
        return t.pending.size();
    }

    /** Tokens per page as {@code worker}'s events told, 0 when none did (no index to match against). */
    public synchronized int blockSize(String worker) {
        Tree t = trees.get(worker);
        return t == null ? 0 : t.blockSize;
    }

    /** Confirmed blocks over all workers. */
    public synchronized long totalSize() {
        return total;
    }

    /** Confirmed blocks forgotten to stay within the bound. */
    public synchronized long evictions() {
        return evictions;
    }

    private void enforceBound() {
        while (total > maxBlocks) {
            Tree largest = null;
            for (Tree t : trees.values()) {
                if (largest == null || t.blocks.size() > largest.blocks.size()) {
                    largest = t;
                }
            }
            Iterator<Long> it = largest.blocks.keySet().iterator();
            largest.media.remove(it.next());
            it.remove();
            total--;
            evictions++;
        }
    }
}
