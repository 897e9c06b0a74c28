package dev.tandem.transfer;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The decode side of one room: BOOTSTRAPPING until its KV args are registered with the prefill worker, then
 * WAITING_FOR_INPUT; {@code init} hands over the destination pages and aux slot; SUCCESS when the prefill side
 * reports the room done, FAILED on its report, a dead peer or a timeout. Thread-safe.
 */
public final class KvReceiver {
    final long room;
    final String address;
    final boolean fake;
    final AtomicReference<KvPoll> status = new AtomicReference<>(KvPoll.BOOTSTRAPPING);
    volatile long initNanos;
    volatile String failure;
    /** False from {@code init} until the prefill side can no longer write into our pages. */
    volatile boolean quiet = true;
    /** {@code init} ran: the prefill side has (or may get) our destination pages. */
    volatile boolean handedOver;
    /**
     * Given up on without word from the prefill side (it seemed dead or could not be reached): quiet once every
     * write lease granted to that peer has run out, or when it acknowledges an abort.
     */
    volatile boolean fenced;
    volatile boolean abortSent;
    /** A fenced room whose abort has not reached the prefill side: sent again when that peer asks for a lease. */
    volatile boolean abortAgain;
    /** The registration this room's transfer relies on (its peer's incarnation); null for fake rooms. */
    volatile java.util.concurrent.CompletableFuture<String> peer;

    KvReceiver(long room, String address, boolean fake) {
        this.room = room;
        this.address = address;
        this.fake = fake;
    }

    public long room() {
        return room;
    }

    public String address() {
        return address;
    }

    public KvPoll status() {
        return status.get();
    }

    /** When the destination pages were handed over ({@code init}), in the manager's clock. */
    public long initNanos() {
        return initNanos;
    }

    /**
     * True when no write into this room's pages can still arrive: before {@code init}, after the prefill side
     * reported the room or acknowledged its abort, after it restarted, or (given up on without word from it) once
     * its write leases ran out. Pages are freed only then.
     */
    public boolean quiet() {
        return quiet;
    }

    public String failure() {
        return failure == null ? "Failed due to an unknown reason" : failure;
    }

    void update(KvPoll s, String reason) {
        KvPoll before = status.getAndUpdate(cur -> KvPoll.merge(cur, s));
        if (s == KvPoll.FAILED && before != KvPoll.FAILED && reason != null) {
            failure = reason;
        }
    }
}
