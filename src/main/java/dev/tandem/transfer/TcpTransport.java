package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Cross-host transport: one cached connection per peer server, opened with a connect deadline and the mutual
 * handshake of {@link TcpWireFormat} (no byte of KV goes to a server that has not proven the cluster secret). A
 * batch goes out as gathered writes straight from the source memory (no staging copy) and completes when the peer
 * acknowledges it; every wait has a deadline. A connection serves one batch at a time; any failure drops it.
 */
final class TcpTransport implements AutoCloseable {
    private static final long MAX_SLICE = 1L << 30;

    private final ClusterSecret secret;
    private final TcpLimits limits;
    private final ConcurrentHashMap<String, Peer> peers = new ConcurrentHashMap<>();
    private volatile boolean closed;

    TcpTransport(ClusterSecret secret, TcpLimits limits) {
        this.secret = secret;
        this.limits = limits;
    }

    /** A server's connection slot; its monitor serializes the batches sent to it. */
    private static final class Peer {
        volatile Connection conn;

        void drop() {
            if (conn != null) {
                conn.close();
                conn = null;
            }
        }
    }

    /** An authenticated connection and the selector that gives its waits their deadlines. */
    private record Connection(SocketChannel ch, DeadlineIo io) implements AutoCloseable {
        @Override
        public void close() {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            io.close();
        }
    }

    /** The peer answered the batch with a failure status: the connection was fine, the batch was not. */
    private static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    void write(SegmentDescriptor remote, List<WriteOp> ops) throws IOException {
        String key = remote.tcpHost() + ":" + remote.tcpPort();
        Peer p = peers.computeIfAbsent(key, k -> new Peer());
        synchronized (p) {
            if (closed) {
                throw new IOException("transfer engine closed");
            }
            boolean reused = p.conn != null;
            try {
                if (p.conn == null) {
                    p.conn = connect(remote);
                }
                send(p.conn, remote.name(), ops);
            } catch (IOException e) {
                p.drop();
                // A cached connection the server closed while idle fails at once: retry once on a fresh one (the
                // writes are idempotent). A refusal or a deadline is the answer, not an accident.
                if (!reused || closed || e instanceof Refused || e instanceof SocketTimeoutException) {
                    throw e;
                }
                try {
                    p.conn = connect(remote);
                    send(p.conn, remote.name(), ops);
                } catch (IOException again) {
                    p.drop();
                    throw again;
                }
            } finally {
                if (closed || peers.get(key) != p) {
                    p.drop(); // closed or forgotten meanwhile: nobody else would close this connection
                }
            }
        }
    }

    /** Closes the connection to {@code remote}'s server, if any (the peer went away). */
    void forget(SegmentDescriptor remote) {
        Peer p = peers.remove(remote.tcpHost() + ":" + remote.tcpPort());
        if (p != null) {
            synchronized (p) {
                p.drop();
            }
        }
    }

    private Connection connect(SegmentDescriptor remote) throws IOException {
        String where = remote.tcpHost() + ":" + remote.tcpPort();
        DeadlineIo io = new DeadlineIo();
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.socket().setTcpNoDelay(true);
            long connectTimeout = limits.connectTimeout().toNanos();
            if (!ch.connect(new InetSocketAddress(remote.tcpHost(), remote.tcpPort()))) {
                io.finishConnect(ch, connectTimeout, "connecting to " + where);
            }
            handshake(ch, io, where);
            return new Connection(ch, io);
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                ch.close();
            }
            io.close();
            throw e;
        }
    }

    /** The client's half of the handshake: prove the secret, then demand the server's proof. */
    private void handshake(SocketChannel ch, DeadlineIo io, String where) throws IOException {
        long timeout = limits.authTimeout().toNanos();
        String during = "during the handshake with " + where;
        ByteBuffer hello = ByteBuffer.allocate(TcpWireFormat.HELLO_BYTES);
        io.readFully(ch, hello, timeout, "waiting for the challenge of " + where);
        hello.flip();
        if (hello.getInt() != TcpWireFormat.AUTH_MAGIC || hello.getInt() != TcpWireFormat.VERSION) {
            throw new IOException(where + " is not a Tandem transfer server of this version");
        }
        byte[] serverNonce = TcpWireFormat.bytes(hello, TcpWireFormat.NONCE_BYTES);
        byte[] clientNonce = TcpWireFormat.nonce();
        ByteBuffer auth = TcpWireFormat.auth(clientNonce, TcpWireFormat.clientMac(secret, serverNonce, clientNonce));
        io.writeFully(ch, new ByteBuffer[] {auth}, timeout, "answering the challenge of " + where);
        ByteBuffer proof = ByteBuffer.allocate(TcpWireFormat.PROOF_BYTES);
        try {
            io.readFully(ch, proof, timeout, "waiting for the proof of " + where);
        } catch (EOFException e) {
            throw new IOException(where + " refused our proof of the cluster secret (the members' secrets differ:"
                    + " compare the fingerprints they log) " + during, e);
        }
        proof.flip();
        int status = proof.getInt();
        byte[] mac = TcpWireFormat.bytes(proof, TcpWireFormat.MAC_BYTES);
        if (status != TcpWireFormat.OK
                || !ClusterSecret.equal(TcpWireFormat.serverMac(secret, serverNonce, clientNonce), mac)) {
            throw new IOException(where + " failed to prove the cluster secret: not sending KV to it");
        }
    }

    /** Sends {@code ops} as batches of at most {@link TcpWireFormat#MAX_OPS} ops (the server's bound). */
    private void send(Connection c, String name, List<WriteOp> ops) throws IOException {
        for (int from = 0; from < ops.size() || from == 0; from += TcpWireFormat.MAX_OPS) {
            sendBatch(c, name, ops.subList(from, Math.min(ops.size(), from + TcpWireFormat.MAX_OPS)));
        }
    }

    private void sendBatch(Connection c, String name, List<WriteOp> ops) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer head = ByteBuffer.allocate(12 + nameBytes.length);
        head.putInt(TcpWireFormat.MAGIC).putInt(nameBytes.length).put(nameBytes).putInt(ops.size()).flip();
        List<ByteBuffer> out = new ArrayList<>(1 + 2 * ops.size());
        out.add(head);
        for (WriteOp op : ops) {
            out.add(ByteBuffer.allocate(16).putLong(op.dstOffset()).putLong(op.length()).flip());
            for (long off = 0; off < op.length(); off += MAX_SLICE) {
                long n = Math.min(MAX_SLICE, op.length() - off);
                out.add(op.src().asSlice(op.srcOffset() + off, n).asByteBuffer());
            }
        }
        long timeout = limits.ioTimeout().toNanos();
        c.io().writeFully(c.ch(), out.toArray(ByteBuffer[]::new), timeout, "sending a batch for '" + name + "'");
        ByteBuffer ack = ByteBuffer.allocate(4);
        c.io().readFully(c.ch(), ack, timeout, "waiting for the acknowledgement of '" + name + "'");
        int status = ack.flip().getInt();
        if (status != TcpWireFormat.OK) {
            throw new Refused("peer refused the batch for segment '" + name + "': "
                    + TcpWireFormat.statusText(status));
        }
    }

    /** Closes every connection; a batch in flight fails at once instead of holding the close up. */
    @Override
    public void close() {
        closed = true;
        for (Peer p : peers.values()) {
            Connection c = p.conn;
            if (c != null) {
                c.close();
            }
        }
        peers.clear();
    }
}
