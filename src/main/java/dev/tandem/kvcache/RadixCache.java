package dev.tandem.kvcache;

import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.TupleHash;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * A prefix cache over token ids at page granularity (SGLang's {@code RadixCache} with {@code page_size}): each edge
 * holds whole pages of tokens and the KV pages that hold them, so a request whose prompt starts with cached pages
 * reuses them. Nodes on a running request's path are locked; eviction frees least-recently-used unlocked leaves.
 * The cache only <em>queues</em> events ({@link #takeEvents()}); whoever owns the scheduler publishes them.
 *
 * <p>Events follow SGLang §8.3: a stored node gives one {@code BlockStored} per page; a split gives
 * {@code BlockRemoved(old node)}, then {@code BlockStored(prefix)}, then {@code BlockStored(suffix)}; an evicted leaf
 * gives {@code BlockRemoved}; {@link #reset()} gives {@code AllBlocksCleared}. Block hash: CPython's hash of the
 * page's token tuple, as SGLang's. Parent rule (SGLang's is buggy: null for every node's first page): the parent
 * of a page is the hash of the page before it in the token sequence, null only for a sequence's first page.
 * Single-threaded: the scheduler thread owns it.
 */
public final class RadixCache {
    private final int pageSize;
    private final IntConsumer freePage;
    private final Node root = new Node(null, new int[0], new int[0]);
    private final List<KvEvent> events = new ArrayList<>();
    private long clock;
    private EvictionListener evictionListener = (path, pages) -> { };
    private int cachedPages;
    private int lockedPages; // pages in nodes with lockRef > 0: not evictable

    /** An edge: {@code key} tokens (whole pages) and their {@code pages}. */
    private static final class Node {
        Node parent;
        int[] key;
        int[] pages;
        final Map<List<Integer>, Node> children = new HashMap<>();
        int lockRef;
        long lastAccess;

        Node(Node parent, int[] key, int[] pages) {
            this.parent = parent;
            this.key = key;
            this.pages = pages;
        }
    }

    /** What a lookup found: the cached pages of the longest page-aligned prefix, and the node to lock. */
    public record Match(int[] pages, int tokens, Object node) {
    }

    /** Told about each leaf that eviction is about to drop, while its pages still hold their KV (HiCache's L2). */
    @FunctionalInterface
    public interface EvictionListener {
        /**
         * @param path  every token from the root to the end of the leaf (whole pages)
         * @param pages the leaf's pages: the KV of the last {@code pages.length} pages of {@code path}
         */
        void evicting(int[] path, int[] pages);
    }

    /** Set once at start-up by whoever keeps evicted pages elsewhere (the hierarchical cache). */
    public void setEvictionListener(EvictionListener listener) {
        this.evictionListener = listener;
    }

    /** @param freePage called for each page the cache lets go of (eviction, reset, duplicate inserts) */
    public RadixCache(int pageSize, IntConsumer freePage) {
        this.pageSize = pageSize;
        this.freePage = freePage;
    }

    private List<Integer> firstPage(int[] key, int from) {
        List<Integer> l = new ArrayList<>(pageSize);
        for (int i = from; i < from + pageSize; i++) {
            l.add(key[i]);
        }
        return l;
    }

    /** The longest cached page-aligned prefix of {@code tokens}; splits a node matched part-way. */
    public Match match(int[] tokens) {
        clock++;
        Node node = root;
        int pos = 0;
        List<Integer> pages = new ArrayList<>();
        while (pos + pageSize <= tokens.length) {
            Node child = node.children.get(firstPage(tokens, pos));
            if (child == null) {
                break;
            }
            int same = commonPages(child.key, tokens, pos);
            if (same < child.key.length / pageSize) {
                child = split(child, same);
            }
            child.lastAccess = clock;
            for (int p : child.pages) {
                pages.add(p);
            }
            pos += child.key.length;
            node = child;
        }
        return new Match(pages.stream().mapToInt(Integer::intValue).toArray(), pos, node);
    }

    private int commonPages(int[] key, int[] tokens, int from) {
        int n = 0;
        while ((n + 1) * pageSize <= key.length && from + (n + 1) * pageSize <= tokens.length
                && Arrays.equals(key, n * pageSize, (n + 1) * pageSize, tokens, from + n * pageSize,
                from + (n + 1) * pageSize)) {
            n++;
        }
        return n;
    }

    /** Splits {@code node} after {@code pages} pages; returns the new upper (prefix) node. */
    private Node split(Node node, int pages) {
        int cut = pages * pageSize;
        events.add(new KvEvent.BlockRemoved(hashes(node.key)));
        Node upper = new Node(node.parent, Arrays.copyOf(node.key, cut), Arrays.copyOf(node.pages, pages));
        upper.lockRef = node.lockRef;
        upper.lastAccess = node.lastAccess;
        node.parent.children.put(firstPage(upper.key, 0), upper);
        node.key = Arrays.copyOfRange(node.key, cut, node.key.length);
        node.pages = Arrays.copyOfRange(node.pages, pages, node.pages.length);
        node.parent = upper;
        upper.children.put(firstPage(node.key, 0), node);
        stored(upper);
        stored(node);
        return upper;
    }

    /**
     * Caches {@code tokens} (only whole pages count) held in {@code pages}. Pages of a prefix the cache already
     * holds are duplicates and are freed; the rest now belong to the cache. Returns how many tokens were already
     * cached.
     */
    public int insert(int[] tokens, int[] pages) {
        int whole = Math.min(tokens.length / pageSize, pages.length);
        Match m = match(Arrays.copyOf(tokens, whole * pageSize));
        int cachedPagesBefore = m.tokens() / pageSize;
        for (int i = 0; i < cachedPagesBefore; i++) {
            if (pages[i] != m.pages()[i]) {
                freePage.accept(pages[i]); // we computed a copy of what the cache holds
            }
        }
        if (cachedPagesBefore < whole) {
            Node parent = (Node) m.node();
            Node leaf = new Node(parent, Arrays.copyOfRange(tokens, cachedPagesBefore * pageSize, whole * pageSize),
                    Arrays.copyOfRange(pages, cachedPagesBefore, whole));
            leaf.lastAccess = ++clock;
            parent.children.put(firstPage(leaf.key, 0), leaf);
            cachedPages += leaf.pages.length;
            stored(leaf);
        }
        for (int i = whole; i < pages.length; i++) {
            freePage.accept(pages[i]); // a partial last page is not cached
        }
        return cachedPagesBefore * pageSize;
    }

    /** Pins the path to {@code match.node()} while a request uses its pages. */
    public void lock(Match match) {
        for (Node n = (Node) match.node(); n != root && n != null; n = n.parent) {
            if (n.lockRef++ == 0) {
                lockedPages += n.pages.length;
            }
        }
    }

    /** Undoes {@link #lock}; a node split since keeps the count on both halves, so the walk stays balanced. */
    public void unlock(Match match) {
        for (Node n = (Node) match.node(); n != root && n != null; n = n.parent) {
            if (n.lockRef <= 0) {
                throw new IllegalStateException("radix cache: unlock of a node that is not locked");
            }
            if (--n.lockRef == 0) {
                lockedPages -= n.pages.length;
            }
        }
    }

    /** Pages that eviction could free now (cached and not locked by a running request). */
    public int evictablePages() {
        return cachedPages - lockedPages;
    }

    /**
     * Frees at least {@code pages} pages by evicting unlocked leaves, least recently used first; returns how many.
     * One walk collects the leaves into a heap; a parent left childless joins it, as in SGLang's eviction.
     */
    public int evict(int pages) {
        java.util.PriorityQueue<Node> heap = new java.util.PriorityQueue<>(
                java.util.Comparator.comparingLong((Node n) -> n.lastAccess));
        for (Node leaf : leaves(root, new ArrayList<>())) {
            if (leaf.lockRef == 0) {
                heap.add(leaf);
            }
        }
        int freed = 0;
        while (freed < pages && !heap.isEmpty()) {
            Node victim = heap.poll();
            events.add(new KvEvent.BlockRemoved(hashes(victim.key)));
            evictionListener.evicting(path(victim), victim.pages);
            for (int p : victim.pages) {
                freePage.accept(p);
            }
            freed += victim.pages.length;
            cachedPages -= victim.pages.length;
            Node parent = victim.parent;
            parent.children.remove(firstPage(victim.key, 0));
            if (parent != root && parent.children.isEmpty() && parent.lockRef == 0) {
                heap.add(parent);
            }
        }
        return freed;
    }

    /** The tokens from the root to the end of {@code n}. */
    private int[] path(Node n) {
        int len = 0;
        for (Node a = n; a != root; a = a.parent) {
            len += a.key.length;
        }
        int[] out = new int[len];
        for (Node a = n; a != root; a = a.parent) {
            len -= a.key.length;
            System.arraycopy(a.key, 0, out, len, a.key.length);
        }
        return out;
    }

    private List<Node> leaves(Node n, List<Node> out) {
        if (n != root && n.children.isEmpty()) {
            out.add(n);
        }
        for (Node c : n.children.values()) {
            leaves(c, out);
        }
        return out;
    }

    /**
     * Drops everything (flush_cache): frees every cached page and queues {@code AllBlocksCleared}. Only when no
     * request holds a lock (SGLang flushes only when idle); otherwise nothing changes and it returns false.
     */
    public boolean reset() {
        if (lockedPages > 0) { // every node holds pages, so a lock shows in the count
            return false;
        }
        for (Node leaf : leaves(root, new ArrayList<>())) {
            for (Node n = leaf; n != root; n = n.parent) {
                for (int p : n.pages) {
                    freePage.accept(p);
                }
                n.pages = new int[0];
            }
        }
        root.children.clear();
        cachedPages = 0;
        lockedPages = 0;
        events.add(new KvEvent.AllBlocksCleared());
        return true;
    }

    /**
     * The whole tree as events, without touching the queue: {@code AllBlocksCleared}, then a {@code BlockStored}
     * per page, parents before children. A consumer that lost track (a restarted router) rebuilds from it.
     */
    public List<KvEvent> snapshot() {
        List<KvEvent> out = new ArrayList<>();
        out.add(new KvEvent.AllBlocksCleared());
        snapshot(root, out);
        return out;
    }

    private void snapshot(Node n, List<KvEvent> out) {
        for (Node c : n.children.values()) {
            stored(c, out);
            snapshot(c, out);
        }
    }

    /** Pages the cache holds. */
    public int cachedPages() {
        return cachedPages;
    }

    /** The queued events, oldest first; the queue is emptied. */
    public List<KvEvent> takeEvents() {
        List<KvEvent> out = List.copyOf(events);
        events.clear();
        return out;
    }

    private void stored(Node n) {
        stored(n, events);
    }

    private void stored(Node n, List<KvEvent> out) {
        Long parent = n.parent == root ? null : TupleHash.hash(n.parent.key, n.parent.key.length - pageSize,
                n.parent.key.length);
        for (int i = 0; i < n.key.length; i += pageSize) {
            long h = TupleHash.hash(n.key, i, i + pageSize);
            List<Integer> tokens = new ArrayList<>(pageSize);
            for (int t = i; t < i + pageSize; t++) {
                tokens.add(n.key[t]);
            }
            out.add(new KvEvent.BlockStored(List.of(h), parent, tokens, pageSize, null));
            parent = h;
        }
    }

    private List<Long> hashes(int[] key) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < key.length; i += pageSize) {
            out.add(TupleHash.hash(key, i, i + pageSize));
        }
        return out;
    }
}
