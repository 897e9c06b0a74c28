package dev.tandem.transfer;

import java.time.Duration;

/**
 * The TCP transport's bounds and deadlines. Server: at most {@code maxConnections} open connections, of which at
 * most {@code maxUnauthenticated} still in the handshake (each must authenticate within {@code authTimeout}); batches
 * are read by {@code handlerThreads} threads whatever the number of connections; an authenticated connection idle
 * longer than {@code idleTimeout} is closed (the client reconnects). Both sides: every read or write must progress
 * within {@code ioTimeout}; the client connects within {@code connectTimeout}.
 */
record TcpLimits(int maxConnections, int maxUnauthenticated, int handlerThreads, Duration authTimeout,
                 Duration ioTimeout, Duration idleTimeout, Duration connectTimeout) {
    /** 256 connections serve a decode worker with that many prefill peers; 4 threads saturate a NIC. */
    static final TcpLimits DEFAULT = new TcpLimits(256, 64, 4, Duration.ofSeconds(5), Duration.ofSeconds(30),
            Duration.ofMinutes(5), Duration.ofSeconds(5));

    TcpLimits withIoTimeout(Duration d) {
        return new TcpLimits(maxConnections, maxUnauthenticated, handlerThreads, authTimeout, d, idleTimeout,
                connectTimeout);
    }

    TcpLimits {
        if (maxConnections < 1 || maxUnauthenticated < 1 || maxUnauthenticated > maxConnections
                || handlerThreads < 1) {
            throw new IllegalArgumentException("TCP limits need connections >= unauthenticated >= 1 and threads >= 1,"
                    + " got " + maxConnections + ", " + maxUnauthenticated + ", " + handlerThreads);
        }
        for (Duration d : new Duration[] {authTimeout, ioTimeout, idleTimeout, connectTimeout}) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("TCP deadlines must be positive, got " + d);
            }
        }
    }
}
