package dev.tandem.transfer;

import java.util.Locale;

/**
 * Why the TCP writer dropped a peer. The worker counts each as {@code tandem_transfer_tcp_peers_rejected_total}
 * with the {@link #tag()} as its {@code reason}.
 */
public enum TcpRejection {
    /** The server already holds its maximum of connections. */
    TOO_MANY_CONNECTIONS,
    /** The server already holds its maximum of connections still in the handshake. */
    TOO_MANY_UNAUTHENTICATED,
    /** No answer to the challenge within the deadline. */
    AUTH_TIMEOUT,
    /** A wrong answer to the challenge: not a member of this cluster (or another secret), or not our protocol. */
    AUTH_FAILED,
    /** An authenticated peer broke the batch framing (magic, name length, op count). */
    BAD_FRAME,
    /** A batch named a segment that is not registered. */
    UNKNOWN_SEGMENT,
    /** An op with a negative offset or length, or past the segment's end. */
    OUT_OF_BOUNDS,
    /** An authenticated peer stalled in the middle of a batch. */
    STALLED;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Receives each rejection; called on the transport's own threads, so it must not block. */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = reason -> { };

        void rejected(TcpRejection reason);
    }
}
