package dev.tandem.transfer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Receives TCP write batches and reads their payloads straight into registered segments (no staging copy). One
 * accept thread and one thread per peer connection; {@link #close()} stops them all and closes every socket.
 */
final class TcpWriteServer implements AutoCloseable {
    private final ServerSocketChannel server;
    private final Map<String, MemorySegment> segments;
    private final Set<SocketChannel> peers = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    TcpWriteServer(String host, Map<String, MemorySegment> segments) throws IOException {
        this.segments = segments;
        this.server = ServerSocketChannel.open().bind(new InetSocketAddress(host, 0));
        this.acceptor = Thread.ofPlatform().daemon().name("tandem-transfer-accept").start(this::acceptLoop);
    }

    int port() {
        return server.socket().getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel ch = server.accept();
                ch.socket().setTcpNoDelay(true);
                peers.add(ch);
                Thread.ofPlatform().daemon().name("tandem-transfer-peer").start(() -> serve(ch));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    org.slf4j.LoggerFactory.getLogger(TcpWriteServer.class).warn("accept failed", e);
                }
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            ByteBuffer head = ByteBuffer.allocate(8);
            while (!closed) {
                head.clear();
                if (!readFully(ch, head)) {
                    return;
                }
                head.flip();
                if (head.getInt() != TcpWireFormat.MAGIC) {
                    return; // not our protocol: drop the connection
                }
                ByteBuffer name = ByteBuffer.allocate(head.getInt());
                ByteBuffer count = ByteBuffer.allocate(4);
                if (!readFully(ch, name) || !readFully(ch, count)) {
                    return;
                }
                MemorySegment seg = segments.get(new String(name.array(), StandardCharsets.UTF_8));
                int status = seg == null ? TcpWireFormat.ERR_UNKNOWN_SEGMENT : TcpWireFormat.OK;
                int ops = count.flip().getInt();
                ByteBuffer opHead = ByteBuffer.allocate(16);
                for (int i = 0; i < ops; i++) {
                    opHead.clear();
                    if (!readFully(ch, opHead)) {
                        return;
                    }
                    long dst = opHead.flip().getLong();
                    long len = opHead.getLong();
                    if (seg != null && dst >= 0 && dst + len <= seg.byteSize()) {
                        if (!readFully(ch, seg.asSlice(dst, len).asByteBuffer())) {
                            return;
                        }
                    } else {
                        status = seg == null ? status : TcpWireFormat.ERR_OUT_OF_BOUNDS;
                        if (!skip(ch, len)) {
                            return;
                        }
                    }
                }
                ByteBuffer ack = ByteBuffer.allocate(4).putInt(status).flip();
                while (ack.hasRemaining()) {
                    ch.write(ack);
                }
            }
        } catch (IOException e) {
            // peer went away: its batch, if any, fails on its side
        } finally {
            peers.remove(ch);
        }
    }

    private static boolean readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean skip(SocketChannel ch, long n) throws IOException {
        ByteBuffer sink = ByteBuffer.allocate((int) Math.min(n, 1 << 16));
        while (n > 0) {
            sink.clear().limit((int) Math.min(n, sink.capacity()));
            int r = ch.read(sink);
            if (r < 0) {
                return false;
            }
            n -= r;
        }
        return true;
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (SocketChannel ch : peers) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        try {
            acceptor.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
