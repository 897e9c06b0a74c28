package dev.tandem.kvcache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A request's KV copied out of the pool into host memory (a decode worker's retraction, SGLang §6.5):
 * {@code [pages, 2 * layers, pageBytes]} for its first {@code tokens} positions. Owns its memory until
 * {@link #close()}.
 */
public final class HostKv implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment data;
    private final int tokens;
    private final int pages;

    HostKv(long bytes, int tokens, int pages) {
        this.data = arena.allocate(Math.max(bytes, 1), 64);
        this.tokens = tokens;
        this.pages = pages;
    }

    MemorySegment data() {
        return data;
    }

    /** Positions whose K/V this copy holds. */
    public int tokens() {
        return tokens;
    }

    int pages() {
        return pages;
    }

    @Override
    public void close() {
        arena.close();
    }
}
