package dev.tandem.transfer;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The prefill side of one room: waits for the decode side's transfer info (BOOTSTRAPPING → WAITING_FOR_INPUT), then
 * pushes page chunks as the prefill computes them, in order, and concludes SUCCESS after the last chunk and the aux
 * row landed, or FAILED. Thread-safe: the scheduler polls it, the transfer pool and the bus adapter update it.
 */
public final class KvSender {
    final long room;
    final boolean fake;
    final long createdNanos;
    final AtomicReference<KvPoll> status = new AtomicReference<>(KvPoll.BOOTSTRAPPING);
    volatile Messages.TransferInfo info;
    volatile String failure;
    volatile CompletableFuture<Void> tail = CompletableFuture.completedFuture(null); // pushes run in order
    int sentPages;
    /** Chunks pushed so far: NIXL's {@code chunk_id} (touched only inside the room's push chain). */
    int chunks;

    KvSender(long room, boolean fake, long createdNanos) {
        this.room = room;
        this.fake = fake;
        this.createdNanos = createdNanos;
    }

    public long room() {
        return room;
    }

    /** The current status (bootstrap timeouts and injected failures are applied by the manager's poll). */
    public KvPoll status() {
        return status.get();
    }

    public String failure() {
        return failure == null ? "Failed due to an unknown reason" : failure;
    }

    /** True when every queued push has finished (the pages it reads may be freed). */
    public boolean drained() {
        return tail.isDone();
    }

    /** Waits for the queued pushes (shutdown). */
    public void tailJoin() {
        try {
            tail.join();
        } catch (RuntimeException ignored) {
            // a failed push already failed the room
        }
    }

    void update(KvPoll s, String reason) {
        KvPoll before = status.getAndUpdate(cur -> KvPoll.merge(cur, s));
        if (s == KvPoll.FAILED && before != KvPoll.FAILED && reason != null) {
            failure = reason;
        }
    }
}
