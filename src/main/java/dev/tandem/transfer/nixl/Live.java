package dev.tandem.transfer.nixl;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts of the native UCX objects alive in this process, raised on creation and lowered on release, so tests can
 * check that closing an agent (or forgetting a peer) gives everything back.
 */
public final class Live {
    static final AtomicInteger CONTEXTS = new AtomicInteger();
    static final AtomicInteger WORKERS = new AtomicInteger();
    static final AtomicInteger REGISTRATIONS = new AtomicInteger();
    static final AtomicInteger ENDPOINTS = new AtomicInteger();
    static final AtomicInteger REMOTE_KEYS = new AtomicInteger();
    static final AtomicInteger TRANSFERS = new AtomicInteger();
    /** Memory UCX allocated for the KV pool or aux rows ({@code ucp_mem_map} with ALLOCATE), not yet unmapped. */
    static final AtomicInteger ALLOCATIONS = new AtomicInteger();

    private Live() {
    }

    /** A snapshot of the counts. */
    public record Counts(int contexts, int workers, int registrations, int endpoints, int remoteKeys, int transfers,
                         int allocations) {
    }

    public static Counts now() {
        return new Counts(CONTEXTS.get(), WORKERS.get(), REGISTRATIONS.get(), ENDPOINTS.get(), REMOTE_KEYS.get(),
                TRANSFERS.get(), ALLOCATIONS.get());
    }
}
