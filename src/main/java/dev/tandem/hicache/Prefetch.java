package dev.tandem.hicache;

/**
 * One request's storage prefetch (storage → host memory on the tiers' I/O thread): how many pages it has read so
 * far and whether it is over. Its request holds it from queueing until admission ({@link HiCache#settle}).
 */
public final class Prefetch {
    final long startNanos = System.nanoTime();
    volatile boolean done;
    volatile boolean cancelled;
    volatile int pages;

    public boolean done() {
        return done;
    }

    /** Pages this prefetch brought from storage into host memory. */
    public int pages() {
        return pages;
    }
}
