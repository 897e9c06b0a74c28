package dev.tandem.transfer.nixl;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/** One transfer: its state is polled; {@link #done()} completes when it is DONE or ERR. */
public final class Xfer {
    /** NIXL's {@code check_xfer_state} answers. */
    public enum State { PROC, DONE, ERR }

    final Peer peer;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private volatile State state = State.PROC;
    private volatile String error;
    ByteBuffer header; // the notification (or READ request), held until UCX is done with it
    Runnable cleanup = () -> { };

    Xfer(Peer peer) {
        this.peer = peer;
    }

    public State state() {
        return state;
    }

    /** Why it failed (ERR), else null. */
    public String error() {
        return error;
    }

    public CompletableFuture<Void> done() {
        return done;
    }

    void succeed() {
        if (state == State.PROC) {
            state = State.DONE;
            finish();
            done.complete(null);
        }
    }

    void fail(String why) {
        if (state == State.PROC) {
            error = why;
            state = State.ERR;
            finish();
            done.completeExceptionally(new IllegalStateException(why));
        }
    }

    private void finish() {
        peer.inflight.remove(this);
        header = null;
        cleanup.run();
        Live.TRANSFERS.decrementAndGet();
    }
}
