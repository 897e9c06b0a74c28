package dev.tandem.kvcache;

import java.util.BitSet;

/**
 * Hands out KV pages by index. All-or-nothing: a request for more pages than are free gets none. Freeing a page
 * that is not allocated is a bug and throws, so double frees cannot hide. Not thread-safe: one scheduler owns it.
 */
public final class PageAllocator {
    private final int[] freeStack;
    private final BitSet allocated;
    private int freeCount;

    public PageAllocator(int numPages) {
        freeStack = new int[numPages];
        allocated = new BitSet(numPages);
        // Low page numbers come out first, which keeps small tests easy to read.
        for (int i = 0; i < numPages; i++) {
            freeStack[i] = numPages - 1 - i;
        }
        freeCount = numPages;
    }

    /** {@code n} pages, or null when fewer than {@code n} are free. */
    public int[] allocate(int n) {
        if (n > freeCount) {
            return null;
        }
        int[] pages = new int[n];
        for (int i = 0; i < n; i++) {
            int p = freeStack[--freeCount];
            allocated.set(p);
            pages[i] = p;
        }
        return pages;
    }

    public void free(int page) {
        if (!allocated.get(page)) {
            throw new IllegalStateException("page " + page + " freed but not allocated");
        }
        allocated.clear(page);
        freeStack[freeCount++] = page;
    }

    public int freePages() {
        return freeCount;
    }

    public int totalPages() {
        return freeStack.length;
    }

    public int usedPages() {
        return freeStack.length - freeCount;
    }
}
