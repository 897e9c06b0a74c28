package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Receives TCP write batches from authenticated peers and reads their payloads straight into registered segments
 * (no staging copy). One I/O thread accepts connections and runs the handshake ({@link TcpWireFormat}) without
 * blocking, under the caps and the deadline of {@link TcpLimits}; a connection that has proven the cluster secret is
 * handed, one batch at a time, to a fixed pool of handler threads. So no peer, and no number of peers, costs a
 * thread or heap beyond those bounds. A peer that breaks a rule is logged, counted and dropped; the others go on.
 * {@link #close()} stops the threads and closes every socket.
 */
final class TcpWriteServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TcpWriteServer.class);
    private static final long SWEEP_MILLIS = 100;

    private final Map<String, MemorySegment> segments;
    private final ClusterSecret secret;
    private final TcpLimits limits;
    private final TcpRejection.Listener listener;
    private final ServerSocketChannel server;
    private final Selector selector;
    private final ThreadPoolExecutor handlers;
    private final BlockingQueue<TcpBatchReader> idleReaders;
    private final Set<Conn> conns = ConcurrentHashMap.newKeySet();
    private final AtomicInteger unauthenticated = new AtomicInteger();
    private final AtomicInteger peakConnections = new AtomicInteger();
    private final Map<TcpRejection, AtomicLong> rejections = new EnumMap<>(TcpRejection.class);
    private final RateLimitedLog rejectionLog = new RateLimitedLog();
    private final Thread io;
    private volatile boolean closed;

    TcpWriteServer(String host, Map<String, MemorySegment> segments, ClusterSecret secret, TcpLimits limits,
                   TcpRejection.Listener listener) throws IOException {
        this.segments = segments;
        this.secret = secret;
        this.limits = limits;
        this.listener = listener;
        for (TcpRejection r : TcpRejection.values()) {
            rejections.put(r, new AtomicLong());
        }
        this.idleReaders = new ArrayBlockingQueue<>(limits.handlerThreads());
        this.selector = Selector.open();
        this.server = ServerSocketChannel.open();
        try {
            for (int i = 0; i < limits.handlerThreads(); i++) {
                idleReaders.add(new TcpBatchReader());
            }
            server.bind(new InetSocketAddress(host, 0), 1024); // a burst waits in the kernel, not as SYN retries
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
        } catch (IOException e) {
            idleReaders.forEach(TcpBatchReader::close);
            server.close();
            selector.close();
            throw e;
        }
        // one task per busy connection at a time: the queue holds at most maxConnections entries
        this.handlers = new ThreadPoolExecutor(limits.handlerThreads(), limits.handlerThreads(), 0,
                TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                Thread.ofPlatform().daemon().name(threadPrefix() + "handler-", 0).factory());
        this.io = Thread.ofPlatform().daemon().name(threadPrefix() + "io").start(this::ioLoop);
    }

    int port() {
        return server.socket().getLocalPort();
    }

    /** Every thread of this server is named with this prefix (and its port). */
    String threadPrefix() {
        return "tandem-transfer-" + port() + "-";
    }

    /** Live handler threads (never above {@code limits.handlerThreads()}). */
    int handlerThreads() {
        return handlers.getPoolSize();
    }

    int openConnections() {
        return conns.size();
    }

    /** The most connections ever open at once. */
    int peakConnections() {
        return peakConnections.get();
    }

    long rejected(TcpRejection reason) {
        return rejections.get(reason).get();
    }

    long rejectedTotal() {
        return rejections.values().stream().mapToLong(AtomicLong::get).sum();
    }

    /** One connection; its fields change on the I/O thread, or on a handler while {@code busy}. */
    private static final class Conn {
        final SocketChannel ch;
        final String peer;
        final long acceptedNanos = System.nanoTime();
        final byte[] serverNonce = TcpWireFormat.nonce();
        final ByteBuffer authIn = ByteBuffer.allocate(TcpWireFormat.AUTH_BYTES); // fixed size, never a peer's length
        SelectionKey key;
        volatile boolean authenticated;
        volatile boolean busy;
        volatile long lastActiveNanos = acceptedNanos;

        Conn(SocketChannel ch) {
            this.ch = ch;
            String p;
            try {
                p = String.valueOf(ch.getRemoteAddress());
            } catch (IOException e) {
                p = "?";
            }
            this.peer = p;
        }
    }

    private void ioLoop() {
        long lastSweep = System.nanoTime();
        while (!closed) {
            try {
                selector.select(SWEEP_MILLIS);
                for (SelectionKey key : selector.selectedKeys()) {
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isAcceptable()) {
                        acceptAll();
                    } else if (key.isReadable()) {
                        onReadable((Conn) key.attachment());
                    }
                }
                selector.selectedKeys().clear();
                if (System.nanoTime() - lastSweep >= TimeUnit.MILLISECONDS.toNanos(SWEEP_MILLIS)) {
                    sweep();
                    lastSweep = System.nanoTime();
                }
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    LOG.warn("transfer server I/O loop: {}", e.toString());
                }
            }
        }
    }

    private void acceptAll() throws IOException {
        SocketChannel ch;
        while ((ch = server.accept()) != null) {
            Conn c = new Conn(ch);
            if (conns.size() >= limits.maxConnections()) {
                reject(c, TcpRejection.TOO_MANY_CONNECTIONS, "already " + conns.size() + " connections");
                continue;
            }
            if (unauthenticated.get() >= limits.maxUnauthenticated()) {
                reject(c, TcpRejection.TOO_MANY_UNAUTHENTICATED, "already " + unauthenticated.get()
                        + " connections in the handshake");
                continue;
            }
            try {
                ch.configureBlocking(false);
                ch.socket().setTcpNoDelay(true);
                ByteBuffer hello = TcpWireFormat.hello(c.serverNonce);
                ch.write(hello);
                if (hello.hasRemaining()) { // 40 bytes into an empty send buffer: only a broken socket refuses
                    throw new IOException("could not send the challenge");
                }
                unauthenticated.incrementAndGet();
                conns.add(c);
                peakConnections.accumulateAndGet(conns.size(), Math::max);
                c.key = ch.register(selector, SelectionKey.OP_READ, c);
            } catch (IOException e) { // the peer left before it was even challenged: a handshake that failed
                reject(c, TcpRejection.AUTH_FAILED, "could not be challenged (" + e.getMessage() + ")");
            }
        }
    }

    private void onReadable(Conn c) {
        if (c.authenticated) {
            c.key.interestOps(0); // the handler owns the connection until its batch is answered
            c.busy = true;
            try {
                handlers.execute(() -> serveBatch(c));
            } catch (RejectedExecutionException closing) {
                drop(c);
            }
            return;
        }
        try {
            if (c.ch.read(c.authIn) < 0) {
                reject(c, TcpRejection.AUTH_FAILED, "closed the connection during the handshake");
                return;
            }
        } catch (IOException e) {
            reject(c, TcpRejection.AUTH_FAILED, "failed during the handshake (" + e.getMessage() + ")");
            return;
        }
        if (c.authIn.position() >= 4 && c.authIn.getInt(0) != TcpWireFormat.AUTH_MAGIC) {
            reject(c, TcpRejection.AUTH_FAILED, "does not speak the handshake (first word 0x"
                    + Integer.toHexString(c.authIn.getInt(0)) + ")");
            return;
        }
        if (c.authIn.hasRemaining()) {
            return;
        }
        ByteBuffer in = c.authIn.flip().position(4);
        int version = in.getInt();
        byte[] clientNonce = TcpWireFormat.bytes(in, TcpWireFormat.NONCE_BYTES);
        byte[] mac = TcpWireFormat.bytes(in, TcpWireFormat.MAC_BYTES);
        if (version != TcpWireFormat.VERSION) {
            reject(c, TcpRejection.AUTH_FAILED, "speaks handshake version " + version);
            return;
        }
        if (!ClusterSecret.equal(TcpWireFormat.clientMac(secret, c.serverNonce, clientNonce), mac)) {
            reject(c, TcpRejection.AUTH_FAILED, "answered the challenge wrongly (no cluster secret, or another one)");
            return;
        }
        try {
            ByteBuffer proof = TcpWireFormat.proof(TcpWireFormat.serverMac(secret, c.serverNonce, clientNonce));
            c.ch.write(proof);
            if (proof.hasRemaining()) {
                throw new IOException("could not send the proof");
            }
        } catch (IOException e) {
            drop(c);
            return;
        }
        c.authenticated = true;
        c.lastActiveNanos = System.nanoTime();
        unauthenticated.decrementAndGet();
    }

    /** Closes handshakes past their deadline and authenticated connections idle too long. */
    private void sweep() {
        long now = System.nanoTime();
        for (Conn c : conns) {
            if (!c.authenticated && now - c.acceptedNanos > limits.authTimeout().toNanos()) {
                reject(c, TcpRejection.AUTH_TIMEOUT, "did not answer the challenge within "
                        + limits.authTimeout().toMillis() + " ms");
            } else if (c.authenticated && !c.busy && now - c.lastActiveNanos > limits.idleTimeout().toNanos()) {
                LOG.debug("transfer server: closing {} idle since {} s", c.peer, limits.idleTimeout().toSeconds());
                drop(c);
            }
        }
    }

    /** On a handler thread: reads one batch into its segment and answers it, or drops the peer. */
    private void serveBatch(Conn c) {
        TcpBatchReader reader = idleReaders.poll(); // never empty: at most handlerThreads tasks run at once
        long timeout = limits.ioTimeout().toNanos();
        try {
            reader.read(c.ch, segments, timeout);
            reader.answer(c.ch, TcpWireFormat.OK, timeout);
            c.lastActiveNanos = System.nanoTime();
            c.busy = false;
            c.key.interestOps(SelectionKey.OP_READ);
            selector.wakeup();
        } catch (TcpBatchReader.Refused r) {
            reader.tryAnswer(c.ch, r.status);
            reject(c, r.reason, r.getMessage());
        } catch (SocketTimeoutException e) {
            reject(c, TcpRejection.STALLED, e.getMessage());
        } catch (IOException e) {
            LOG.debug("transfer server: {} went away: {}", c.peer, e.toString());
            drop(c);
        } catch (RuntimeException e) {
            LOG.warn("transfer server: batch from {} failed", c.peer, e);
            drop(c);
        } finally {
            reader.release(c.ch);
            idleReaders.add(reader);
        }
    }

    private void reject(Conn c, TcpRejection reason, String why) {
        rejections.get(reason).incrementAndGet();
        try {
            listener.rejected(reason);
        } catch (RuntimeException e) {
            LOG.debug("TCP rejection listener failed: {}", e.toString());
        }
        rejectionLog.log(reason, c.peer, why);
        drop(c);
    }

    private void drop(Conn c) {
        if (conns.remove(c) && !c.authenticated) {
            unauthenticated.decrementAndGet();
        }
        try {
            c.ch.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** One log line per rejected peer, but at most one per reason every few seconds (a flood logs a count). */
    private static final class RateLimitedLog {
        private static final long PERIOD_NANOS = TimeUnit.SECONDS.toNanos(5);
        private final Map<TcpRejection, long[]> state = new ConcurrentHashMap<>(); // [last logged, suppressed]

        void log(TcpRejection reason, String peer, String why) {
            long[] s = state.computeIfAbsent(reason, r -> new long[] {Long.MIN_VALUE, 0});
            long suppressed;
            synchronized (s) {
                long now = System.nanoTime();
                if (s[0] != Long.MIN_VALUE && now - s[0] < PERIOD_NANOS) {
                    s[1]++;
                    return;
                }
                s[0] = now;
                suppressed = s[1];
                s[1] = 0;
            }
            LOG.warn("transfer server: dropped peer {} ({}): it {}{}", peer, reason.tag(), why,
                    suppressed > 0 ? " [" + suppressed + " more " + reason.tag() + " since the last report]" : "");
        }
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            io.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Conn c : conns) {
            drop(c);
        }
        handlers.shutdownNow();
        try {
            handlers.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        idleReaders.forEach(TcpBatchReader::close);
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
