package dev.tandem.kvcache;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The KV pool plus its bookkeeping: a page allocator and the request→token-slot table (SGLang's
 * {@code req_to_token}). A request holds one table row; position {@code p} of that request lives in slot
 * {@code table[row * maxContext + p]}. Rows grow page by page with {@link #ensureCapacity}; {@link #release} returns
 * the row's own pages and the row. With a prefix cache a row may start with pages it only borrows
 * ({@link #adoptPrefix}): the cache owns them, so {@link #release} leaves them alone and {@link #detach} hands every
 * page to the caller (which gives them to the cache). When pages run short, {@link #ensureCapacity} asks the
 * {@link Reclaimer} (the prefix cache's eviction) for more before it gives up. Owned by one thread (the
 * scheduler's); not thread-safe.
 */
public final class PagedKvCache implements AutoCloseable {
    private final KvPool pool;
    private final PageAllocator pages;
    private final int maxRequests;
    private final int maxContext;
    private final int[] table;          // [maxRequests, maxContext] -> slot
    private final int[][] rowPages;     // (row) -> pages held, in position order
    private final int[] rowPageCount;   // (row) -> how many of rowPages[row] are used
    private final int[] rowShared;      // (row) -> leading pages borrowed from the prefix cache
    private final boolean[] rowInUse;
    private Reclaimer reclaimer = pages -> 0;

    /** Frees pages held only by a cache when an allocation falls short. */
    @FunctionalInterface
    public interface Reclaimer {
        /** Tries to free at least {@code pages} pages; returns how many it freed. */
        int reclaim(int pages);
    }
    private final ArrayDeque<Integer> freeRows = new ArrayDeque<>();

    public PagedKvCache(KvPool pool, int maxRequests, int maxContext) {
        this.pool = pool;
        this.pages = new PageAllocator(pool.numPages());
        this.maxRequests = maxRequests;
        this.maxContext = maxContext;
        this.table = new int[Math.multiplyExact(maxRequests, maxContext)];
        this.rowPages = new int[maxRequests][];
        this.rowPageCount = new int[maxRequests];
        this.rowShared = new int[maxRequests];
        this.rowInUse = new boolean[maxRequests];
        for (int r = 0; r < maxRequests; r++) {
            freeRows.add(r);
        }
    }

    /** A free table row, or -1 when all {@code maxRequests} rows are taken. */
    public int allocateRow() {
        Integer r = freeRows.poll();
        if (r == null) {
            return -1;
        }
        rowInUse[r] = true;
        rowPageCount[r] = 0;
        rowShared[r] = 0;
        rowPages[r] = new int[4];
        return r;
    }

    /** Set once at start-up by whoever owns a prefix cache. */
    public void setReclaimer(Reclaimer reclaimer) {
        this.reclaimer = reclaimer;
    }

    /**
     * Starts the empty {@code row} with {@code shared} pages that hold its first {@code shared.length} pages of
     * positions and belong to someone else (the prefix cache): {@link #release} will not free them.
     */
    public void adoptPrefix(int row, int[] shared) {
        checkRow(row);
        if (rowPageCount[row] != 0) {
            throw new IllegalStateException("KV table row " + row + " already holds pages");
        }
        if ((long) shared.length * pool.pageSize() > maxContext) {
            throw new IllegalArgumentException(shared.length + " pages exceed the context of " + maxContext);
        }
        place(row, shared);
        rowShared[row] = shared.length;
    }

    /** Pages needed to hold {@code tokens} positions. */
    public int pagesFor(int tokens) {
        return (tokens + pool.pageSize() - 1) / pool.pageSize();
    }

    /**
     * Makes positions {@code [0, length)} of {@code row} addressable, allocating pages as needed.
     * Returns false, allocating nothing, when not enough pages are free.
     */
    public boolean ensureCapacity(int row, int length) {
        checkRow(row);
        if (length > maxContext) {
            throw new IllegalArgumentException("length " + length + " exceeds the context of " + maxContext);
        }
        int have = rowPageCount[row];
        int need = pagesFor(length) - have;
        if (need <= 0) {
            return true;
        }
        int[] got = pages.allocate(need);
        if (got == null && pages.freePages() < need) {
            reclaimer.reclaim(need - pages.freePages());
            got = pages.allocate(need);
        }
        if (got == null) {
            return false;
        }
        place(row, got);
        return true;
    }

    /** Appends {@code got} to the row's pages and maps their positions. */
    private void place(int row, int[] got) {
        int have = rowPageCount[row];
        int need = got.length;
        if (rowPages[row].length < have + need) {
            rowPages[row] = Arrays.copyOf(rowPages[row], Math.max(have + need, rowPages[row].length * 2));
        }
        int ps = pool.pageSize();
        int base = row * maxContext;
        for (int i = 0; i < need; i++) {
            int page = got[i];
            rowPages[row][have + i] = page;
            int firstPos = (have + i) * ps;
            for (int o = 0; o < ps && firstPos + o < maxContext; o++) {
                table[base + firstPos + o] = page * ps + o;
            }
        }
        rowPageCount[row] = have + need;
    }

    /** Returns the row's own pages (not those borrowed through {@link #adoptPrefix}) and the row itself. */
    public void release(int row) {
        checkRow(row);
        for (int i = rowShared[row]; i < rowPageCount[row]; i++) {
            pages.free(rowPages[row][i]);
        }
        freeRow(row);
    }

    /**
     * Frees the row but not its pages: returns all of them, borrowed ones first, for the caller to own (the prefix
     * cache takes a finished request's pages this way).
     */
    public int[] detach(int row) {
        int[] all = pagesOf(row);
        freeRow(row);
        return all;
    }

    private void freeRow(int row) {
        rowPageCount[row] = 0;
        rowShared[row] = 0;
        rowPages[row] = null;
        rowInUse[row] = false;
        freeRows.add(row);
    }

    /** Positions {@code row} can hold without allocating: its pages times the page size. */
    public int capacity(int row) {
        checkRow(row);
        return rowPageCount[row] * pool.pageSize();
    }

    /** Copies the K/V of positions {@code [0, tokens)} of {@code row} to host memory (the row keeps its pages). */
    public HostKv offload(int row, int tokens) {
        checkRow(row);
        int n = pagesFor(tokens);
        long pb = pool.pageBytes();
        int layers = pool.numLayers();
        HostKv h = new HostKv(n * 2L * layers * pb, tokens, n);
        for (int i = 0; i < n; i++) {
            int page = rowPages[row][i];
            for (int l = 0; l < layers; l++) {
                for (int v = 0; v < 2; v++) {
                    MemorySegment region = v == 0 ? pool.keys(l) : pool.values(l);
                    MemorySegment.copy(region, page * pb, h.data(), ((long) i * 2 * layers + 2L * l + v) * pb, pb);
                }
            }
        }
        return h;
    }

    /**
     * Gives {@code row} pages for {@code h.tokens()} positions and copies the K/V back; false (nothing allocated,
     * {@code h} kept) when pages are short.
     */
    public boolean restore(int row, HostKv h) {
        if (!ensureCapacity(row, h.tokens())) {
            return false;
        }
        long pb = pool.pageBytes();
        int layers = pool.numLayers();
        for (int i = 0; i < h.pages(); i++) {
            int page = rowPages[row][i];
            for (int l = 0; l < layers; l++) {
                for (int v = 0; v < 2; v++) {
                    MemorySegment region = v == 0 ? pool.keys(l) : pool.values(l);
                    MemorySegment.copy(h.data(), ((long) i * 2 * layers + 2L * l + v) * pb, region, page * pb, pb);
                }
            }
        }
        return true;
    }

    /** Slot of position {@code pos} of {@code row}. */
    public int slot(int row, int pos) {
        return table[row * maxContext + pos];
    }

    /** The pages {@code row} holds, in position order (a copy). */
    public int[] pagesOf(int row) {
        checkRow(row);
        return Arrays.copyOf(rowPages[row], rowPageCount[row]);
    }

    /** The whole table, for the forward pass: row {@code r} starts at {@code r * maxContext()}. */
    public int[] table() {
        return table;
    }

    public int maxContext() {
        return maxContext;
    }

    public int maxRequests() {
        return maxRequests;
    }

    public int freeRows() {
        return freeRows.size();
    }

    public KvPool pool() {
        return pool;
    }

    public PageAllocator allocator() {
        return pages;
    }

    private void checkRow(int row) {
        if (row < 0 || row >= maxRequests || !rowInUse[row]) {
            throw new IllegalStateException("KV table row " + row + " is not allocated");
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
