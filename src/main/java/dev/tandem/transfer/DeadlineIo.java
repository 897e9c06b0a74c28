package dev.tandem.transfer;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * Reads and writes on non-blocking channels where every wait has a deadline: a read or write that makes no progress
 * within {@code timeoutNanos} fails with {@link SocketTimeoutException}. A blocking NIO channel ignores
 * {@code SO_TIMEOUT}, and a socket stream would cost a copy; a selector gives deadlines and still reads straight
 * into the destination memory. One per thread (a selector is not shared); owns its selector.
 */
final class DeadlineIo implements AutoCloseable {
    private final Selector selector;

    DeadlineIo() throws IOException {
        this.selector = Selector.open();
    }

    /** Fills {@code b} from {@code ch}; {@code what} names the wait in errors. */
    void readFully(SocketChannel ch, ByteBuffer b, long timeoutNanos, String what) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b);
            if (n < 0) {
                throw new EOFException("peer closed the connection " + what);
            }
            if (n == 0) {
                await(ch, SelectionKey.OP_READ, timeoutNanos, what);
            }
        }
    }

    /** Writes every remaining byte of {@code bufs} (a gathered write straight from their memory). */
    void writeFully(SocketChannel ch, ByteBuffer[] bufs, long timeoutNanos, String what) throws IOException {
        long remaining = 0;
        for (ByteBuffer b : bufs) {
            remaining += b.remaining();
        }
        int first = 0;
        while (remaining > 0) {
            while (!bufs[first].hasRemaining()) {
                first++;
            }
            long n = ch.write(bufs, first, Math.min(bufs.length - first, 1024));
            remaining -= n;
            if (n == 0) {
                await(ch, SelectionKey.OP_WRITE, timeoutNanos, what);
            }
        }
    }

    /** Completes a non-blocking connect within the deadline. */
    void finishConnect(SocketChannel ch, long timeoutNanos, String what) throws IOException {
        while (!ch.finishConnect()) {
            await(ch, SelectionKey.OP_CONNECT, timeoutNanos, what);
        }
    }

    private void await(SocketChannel ch, int op, long timeoutNanos, String what) throws IOException {
        SelectionKey key = ch.keyFor(selector);
        if (key == null) {
            key = ch.register(selector, op);
        } else if (key.interestOps() != op) { // an unchanged interest set costs no epoll_ctl
            key.interestOps(op);
        }
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            if (Thread.currentThread().isInterrupted()) {
                throw new java.io.InterruptedIOException(what + ": interrupted");
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException(what + ": no progress within "
                        + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
            }
            int ready = selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            selector.selectedKeys().clear();
            if (ready > 0) {
                return;
            }
        }
    }

    /** Forgets {@code ch} so another thread's {@code DeadlineIo} may serve it next. */
    void release(SocketChannel ch) throws IOException {
        SelectionKey key = ch.keyFor(selector);
        if (key != null) {
            key.cancel();
            selector.selectNow(); // deregisters the cancelled key now
        }
    }

    @Override
    public void close() {
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
