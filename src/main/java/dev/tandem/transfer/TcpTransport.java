package dev.tandem.transfer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Cross-host transport: one cached connection per peer server; a batch goes out as gathered writes straight from
 * the source memory (no staging copy) and completes when the peer acknowledges it. Connections are used by one
 * batch at a time.
 */
final class TcpTransport implements AutoCloseable {
    private final ConcurrentHashMap<String, SocketChannel> connections = new ConcurrentHashMap<>();

    void write(SegmentDescriptor remote, List<WriteOp> ops) throws IOException {
        String key = remote.tcpHost() + ":" + remote.tcpPort();
        synchronized (lockFor(key)) {
            SocketChannel ch = connections.get(key);
            if (ch == null || !ch.isOpen()) {
                ch = SocketChannel.open(new InetSocketAddress(remote.tcpHost(), remote.tcpPort()));
                ch.socket().setTcpNoDelay(true);
                connections.put(key, ch);
            }
            try {
                send(ch, remote.name(), ops);
            } catch (IOException e) {
                connections.remove(key);
                ch.close();
                throw e;
            }
        }
    }

    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();

    private Object lockFor(String key) {
        return locks.computeIfAbsent(key, k -> new Object());
    }

    private static void send(SocketChannel ch, String name, List<WriteOp> ops) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer head = ByteBuffer.allocate(12 + nameBytes.length);
        head.putInt(TcpWireFormat.MAGIC).putInt(nameBytes.length).put(nameBytes).putInt(ops.size()).flip();
        List<ByteBuffer> out = new ArrayList<>();
        out.add(head);
        for (WriteOp op : ops) {
            ByteBuffer h = ByteBuffer.allocate(16);
            h.putLong(op.dstOffset()).putLong(op.length()).flip();
            out.add(h);
            out.add(op.src().asSlice(op.srcOffset(), op.length()).asByteBuffer());
        }
        ByteBuffer[] bufs = out.toArray(ByteBuffer[]::new);
        long remaining = 0;
        for (ByteBuffer b : bufs) {
            remaining += b.remaining();
        }
        while (remaining > 0) {
            remaining -= ch.write(bufs);
        }
        ByteBuffer ack = ByteBuffer.allocate(4);
        while (ack.hasRemaining()) {
            if (ch.read(ack) < 0) {
                throw new IOException("peer closed the connection before acknowledging the batch");
            }
        }
        int status = ack.flip().getInt();
        if (status != TcpWireFormat.OK) {
            throw new IOException("peer refused the batch for segment '" + name + "' (status " + status + ")");
        }
    }

    @Override
    public void close() {
        for (SocketChannel ch : connections.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        connections.clear();
    }
}
