package dev.tandem.transfer;

/** Hears what the transfer layer moves, for metrics; called on transfer threads, must be cheap and thread-safe. */
public interface TransferObserver {
    /** One batched write to a peer: bytes moved and how long the write took. */
    default void onKvSent(long bytes, long nanos) {
    }

    TransferObserver NONE = new TransferObserver() {
    };
}
