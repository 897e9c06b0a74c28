package dev.tandem.kvcache;

import dev.tandem.kvevents.KvEvent;

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
 *
 * <p>Tiers (SGLang's {@code HiRadixCache}): a node knows which tier holds its pages. {@code pages} are pool (L1)
 * pages, or null once evicted; {@code host} are opaque host-memory (L2) handles, one per page ({@link #NO_HOST}
 * where a page has no host copy), given by the {@link EvictionListener} or {@link #setHost}. A pool node whose
 * pages are evicted while every page has a host copy stays in the tree as a host node, so a {@link #match} walks
 * pool nodes, then host nodes ({@link Match#hostHandles}), and whoever loads those pages back into the pool
 * {@link #insert}s them (the host nodes on the path take the new pages). Pool nodes always form a prefix-closed
 * subtree (a pool node's parent is in the pool): eviction takes only pool nodes without pool children, and a
 * load fills a path from the top. {@link #hostDropped} removes a host copy the host tier let go of. Events are the
 * pool's only (host memory reports its own): a host node's split or removal queues nothing.
 * Single-threaded: the scheduler thread owns it.
 */
public final class RadixCache {
    private final int pageSize;
    private final IntConsumer freePage;
    /** A page without a host copy in a node's host copies and {@link Match#hostHandles}. */
    public static final long NO_HOST = -1;

    private final RadixNode root = new RadixNode(null, new int[0], new int[0]);
    /** Host handle to the node holding it (each handle is one page of one node). */
    private final Map<Long, RadixNode> byHost = new HashMap<>();
    private final RadixEvents events;
    private long clock;
    private EvictionListener evictionListener = (path, pages, host) -> null;
    private int cachedPages;
    private int lockedPages; // pages in nodes with lockRef > 0: not evictable

    /**
     * What a lookup found: the pool pages of the longest page-aligned prefix and the node to lock, then the host
     * handles of the host nodes that follow it in the tree (pages that host memory holds and the pool does not).
     */
    public record Match(int[] pages, int tokens, Object node, long[] hostHandles) {
        public Match(int[] pages, int tokens, Object node) {
            this(pages, tokens, node, new long[0]);
        }
    }

    /** Told about each node that eviction takes out of the pool, while its pages still hold their KV (L2). */
    @FunctionalInterface
    public interface EvictionListener {
        /**
         * @param path  every token from the root to the end of the node (whole pages)
         * @param pages the node's pool pages: the KV of the last {@code pages.length} pages of {@code path}
         * @param host  the host copies the node has already ({@link #NO_HOST} where none), or null
         * @return a host handle per page ({@link #NO_HOST} where no copy was made), or null: the node's leading
         *         pages with a copy stay in the tree as a host node, the rest are forgotten
         */
        long[] evicting(int[] path, int[] pages, long[] host);
    }

    /** Set once at start-up by whoever keeps evicted pages elsewhere (the hierarchical cache). */
    public void setEvictionListener(EvictionListener listener) {
        this.evictionListener = listener;
    }

    /** @param freePage called for each page the cache lets go of (eviction, reset, duplicate inserts) */
    public RadixCache(int pageSize, IntConsumer freePage) {
        this.pageSize = pageSize;
        this.freePage = freePage;
        this.events = new RadixEvents(pageSize);
    }

    /**
     * The longest cached page-aligned prefix of {@code tokens}: its pool part, then the host nodes after it;
     * splits a node matched part-way.
     */
    public Match match(int[] tokens) {
        List<Integer> pages = new ArrayList<>();
        List<Long> host = new ArrayList<>();
        RadixNode node = root;
        int pos = 0;
        for (RadixNode n : walk(tokens)) {
            if (n.pages != null && host.isEmpty()) {
                for (int p : n.pages) {
                    pages.add(p);
                }
                pos += n.key.length;
                node = n;
            } else {
                for (long h : n.host) { // a host node has a copy of every page
                    host.add(h);
                }
            }
        }
        return new Match(pages.stream().mapToInt(Integer::intValue).toArray(), pos, node,
                host.stream().mapToLong(Long::longValue).toArray());
    }

    /** The nodes (pool, then host) on {@code tokens}' page-aligned path; a node matched part-way is split. */
    private List<RadixNode> walk(int[] tokens) {
        clock++;
        List<RadixNode> path = new ArrayList<>();
        RadixNode node = root;
        int pos = 0;
        while (pos + pageSize <= tokens.length) {
            RadixNode child = node.children.get(RadixNode.pageKey(tokens, pos, pageSize));
            if (child == null) {
                break;
            }
            int same = commonPages(child.key, tokens, pos);
            if (same < child.key.length / pageSize) {
                child = split(child, same);
            }
            child.lastAccess = clock;
            path.add(child);
            pos += child.key.length;
            node = child;
        }
        return path;
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
    private RadixNode split(RadixNode node, int pages) {
        int cut = pages * pageSize;
        boolean inPool = node.pages != null;
        if (inPool) {
            events.removed(node);
        }
        RadixNode upper = new RadixNode(node.parent, Arrays.copyOf(node.key, cut),
                inPool ? Arrays.copyOf(node.pages, pages) : null);
        upper.lockRef = node.lockRef;
        upper.lastAccess = node.lastAccess;
        node.parent.children.put(RadixNode.pageKey(upper.key, 0, pageSize), upper);
        node.key = Arrays.copyOfRange(node.key, cut, node.key.length);
        node.pages = inPool ? Arrays.copyOfRange(node.pages, pages, node.pages.length) : null;
        if (node.host != null) {
            upper.host = Arrays.copyOf(node.host, pages);
            node.host = Arrays.copyOfRange(node.host, pages, node.host.length);
            for (long h : upper.host) {
                if (h != NO_HOST) {
                    byHost.put(h, upper);
                }
            }
        }
        node.parent = upper;
        upper.children.put(RadixNode.pageKey(node.key, 0, pageSize), node);
        if (inPool) {
            events.stored(upper);
            events.stored(node);
        }
        return upper;
    }

    /**
     * Caches {@code tokens} (only whole pages count) held in {@code pages}. Pages of a prefix the cache already
     * holds are duplicates and are freed; the rest now belong to the cache. Returns how many tokens were already
     * cached.
     */
    public int insert(int[] tokens, int[] pages) {
        int whole = Math.min(tokens.length / pageSize, pages.length);
        int at = 0;
        int cachedPagesBefore = 0;
        RadixNode parent = root;
        for (RadixNode n : walk(Arrays.copyOf(tokens, whole * pageSize))) {
            int len = n.key.length / pageSize;
            if (n.pages != null) {
                for (int i = 0; i < len; i++) {
                    if (pages[at + i] != n.pages[i]) {
                        freePage.accept(pages[at + i]); // we computed a copy of what the cache holds
                    }
                }
                cachedPagesBefore += len;
            } else { // a host node on the path: these pool pages (loaded or computed) bring it back to the pool
                n.pages = Arrays.copyOfRange(pages, at, at + len);
                cachedPages += len;
                events.stored(n);
            }
            at += len;
            parent = n;
        }
        if (at < whole) {
            RadixNode leaf = new RadixNode(parent, Arrays.copyOfRange(tokens, at * pageSize, whole * pageSize),
                    Arrays.copyOfRange(pages, at, whole));
            leaf.lastAccess = ++clock;
            parent.children.put(RadixNode.pageKey(leaf.key, 0, pageSize), leaf);
            cachedPages += leaf.pages.length;
            events.stored(leaf);
        }
        for (int i = whole; i < pages.length; i++) {
            freePage.accept(pages[i]); // a partial last page is not cached
        }
        return cachedPagesBefore * pageSize;
    }

    /** Pins the path to {@code match.node()} while a request uses its pages. */
    public void lock(Match match) {
        for (RadixNode n = (RadixNode) match.node(); n != root && n != null; n = n.parent) {
            if (n.lockRef++ == 0) {
                lockedPages += n.pages.length;
            }
        }
    }

    /** Undoes {@link #lock}; a node split since keeps the count on both halves, so the walk stays balanced. */
    public void unlock(Match match) {
        for (RadixNode n = (RadixNode) match.node(); n != root && n != null; n = n.parent) {
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
     * Frees at least {@code pages} pool pages by evicting unlocked pool leaves (pool nodes without pool children),
     * least recently used first; returns how many. One walk collects them into a heap; a parent left without pool
     * children joins it, as in SGLang's eviction. A victim whose pages all have host copies stays as a host node.
     */
    public int evict(int pages) {
        java.util.PriorityQueue<RadixNode> heap = new java.util.PriorityQueue<>(
                java.util.Comparator.comparingLong((RadixNode n) -> n.lastAccess));
        for (RadixNode leaf : poolLeaves(root, new ArrayList<>())) {
            if (leaf.lockRef == 0) {
                heap.add(leaf);
            }
        }
        int freed = 0;
        while (freed < pages && !heap.isEmpty()) {
            RadixNode victim = heap.poll();
            events.removed(victim);
            long[] copies = evictionListener.evicting(victim.path(), victim.pages, victim.host);
            for (int p : victim.pages) {
                freePage.accept(p);
            }
            freed += victim.pages.length;
            cachedPages -= victim.pages.length;
            victim.pages = null;
            keepOnHost(victim, copies);
            RadixNode parent = victim.parent;
            if (parent != root && parent.lockRef == 0 && !parent.hasPoolChild()) {
                heap.add(parent);
            }
        }
        return freed;
    }

    /** A node just out of the pool: its leading pages with host copies stay as a host node, the rest go. */
    private void keepOnHost(RadixNode n, long[] copies) {
        int len = n.key.length / pageSize;
        if (copies != null) {
            if (n.host == null) {
                n.host = new long[len];
                Arrays.fill(n.host, NO_HOST);
            }
            for (int i = 0; i < len; i++) {
                if (n.host[i] == NO_HOST && copies[i] != NO_HOST) {
                    n.host[i] = copies[i];
                    byHost.put(copies[i], n);
                }
            }
        }
        int kept = 0;
        while (n.host != null && kept < len && n.host[kept] != NO_HOST) {
            kept++;
        }
        if (kept == 0) {
            remove(n);
        } else if (kept < len) {
            split(n, kept); // n is now the lower part, without copies
            remove(n);
        }
    }

    /** Takes {@code n} and everything below it (host nodes only: pool nodes are prefix-closed) out of the tree. */
    private void remove(RadixNode n) {
        n.parent.children.remove(RadixNode.pageKey(n.key, 0, pageSize));
        forgetHost(n);
    }

    private void forgetHost(RadixNode n) {
        if (n.host != null) {
            for (long h : n.host) {
                byHost.remove(h);
            }
        }
        for (RadixNode c : n.children.values()) {
            forgetHost(c);
        }
    }

    /**
     * Host memory let go of the page behind {@code handle}: a pool node just loses that copy; a host node keeps
     * the pages before it and loses the rest (and everything below, which is no longer reachable).
     */
    public void hostDropped(long handle) {
        RadixNode n = byHost.remove(handle);
        if (n == null) {
            return;
        }
        int i = 0;
        while (n.host[i] != handle) {
            i++;
        }
        n.host[i] = NO_HOST;
        if (n.pages == null) {
            if (i > 0) {
                split(n, i);
            }
            remove(n);
        }
    }

    /**
     * Records host copies of the pool pages on {@code tokens}' path: {@code handles[i]} for page i
     * ({@link #NO_HOST}: none). Pages the tree does not hold in the pool are skipped (their copy is found by key).
     */
    public void setHost(int[] tokens, long[] handles) {
        int at = 0;
        for (RadixNode n : walk(Arrays.copyOf(tokens, Math.min(tokens.length, handles.length * pageSize)))) {
            int len = n.key.length / pageSize;
            if (n.pages == null) {
                break;
            }
            for (int i = 0; i < len && at + i < handles.length; i++) {
                long h = handles[at + i];
                if (h == NO_HOST || byHost.containsKey(h)) {
                    continue;
                }
                if (n.host == null) {
                    n.host = new long[len];
                    Arrays.fill(n.host, NO_HOST);
                }
                if (n.host[i] == NO_HOST) {
                    n.host[i] = h;
                    byHost.put(h, n);
                }
            }
            at += len;
        }
    }

    /** Host copies the tree knows of (pages of pool nodes and of host nodes). */
    public int hostPages() {
        return byHost.size();
    }

    private List<RadixNode> poolLeaves(RadixNode n, List<RadixNode> out) {
        if (n != root && n.pages != null && !n.hasPoolChild()) {
            out.add(n);
        }
        for (RadixNode c : n.children.values()) {
            if (c.pages != null) {
                poolLeaves(c, out);
            }
        }
        return out;
    }

    private void freeAll(RadixNode n) {
        if (n != root && n.pages != null) {
            for (int p : n.pages) {
                freePage.accept(p);
            }
            n.pages = null;
        }
        for (RadixNode c : n.children.values()) {
            freeAll(c);
        }
    }

    /**
     * Drops everything (flush_cache): frees every cached page, forgets host nodes and queues
     * {@code AllBlocksCleared}. Only when no
     * request holds a lock (SGLang flushes only when idle); otherwise nothing changes and it returns false.
     */
    public boolean reset() {
        if (lockedPages > 0) { // every node holds pages, so a lock shows in the count
            return false;
        }
        freeAll(root);
        root.children.clear();
        byHost.clear();
        cachedPages = 0;
        lockedPages = 0;
        events.cleared();
        return true;
    }

    /**
     * The whole tree as events, without touching the queue: {@code AllBlocksCleared}, then a {@code BlockStored}
     * per page, parents before children. A consumer that lost track (a restarted router) rebuilds from it.
     */
    public List<KvEvent> snapshot() {
        return events.snapshot(root);
    }

    /** Pages the cache holds. */
    public int cachedPages() {
        return cachedPages;
    }

    /** The queued events, oldest first; the queue is emptied. */
    public List<KvEvent> takeEvents() {
        return events.take();
    }
}
