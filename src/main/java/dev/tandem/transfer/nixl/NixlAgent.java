package dev.tandem.transfer.nixl;

import dev.tandem.config.ClusterSecret;
import dev.tandem.transfer.AgentMemory;
import org.openucx.jucx.UcxCallback;
import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpAmData;
import org.openucx.jucx.ucp.UcpConstants;
import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpEndpoint;
import org.openucx.jucx.ucp.UcpEndpointParams;
import org.openucx.jucx.ucp.UcpMemMapParams;
import org.openucx.jucx.ucp.UcpMemory;
import org.openucx.jucx.ucp.UcpParams;
import org.openucx.jucx.ucp.UcpRemoteKey;
import org.openucx.jucx.ucp.UcpRequest;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;
import org.openucx.jucx.ucs.UcsConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A NIXL agent over UCX: a named owner of one UCX context and worker, the memory it registered, and its connections
 * (endpoints and unpacked remote keys) to peer agents, which it opens once per peer agent from that agent's metadata.
 * Transfers are descriptor lists posted as one-sided puts, then a flush (the data is in the peer's memory), then a
 * notification to the peer as an active message, signed with the cluster secret.
 *
 * <p>Threads: UCX workers are single-threaded here, so one progress thread per agent makes every UCX call; other
 * threads hand it tasks and wait on futures (with deadlines: callers time out, the agent never blocks on a peer).
 * Closing releases, on that thread, transfers in flight (failed), remote keys, endpoints, registrations, the worker
 * and the context ({@link Live} counts them).
 */
public final class NixlAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NixlAgent.class);
    static final int NOTIF_AM_ID = 0x4e;
    static final int READ_AM_ID = 0x4f;
    static final int DONE_AM_ID = 0x50;
    private static final int MAC_BYTES = 32;
    private static final int MAX_NOTIF_BYTES = 256;
    private static final long CLOSE_WAIT_NANOS = 2_000_000_000L;
    private static final String TCP_SEGMENT = "1m";

    private final String name;
    private final boolean peerErrors;
    private final ClusterSecret secret;
    private final Consumer<String> notifications;
    private final UcpContext context;
    private final UcpWorker worker;
    private final String workerAddress;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicLong rejectedNotifications = new AtomicLong();
    private volatile boolean running = true;
    private volatile boolean released;
    // touched by the agent thread only
    private final Map<String, UcpMemory> registrations = new HashMap<>();
    private final Map<String, Peer> peers = new HashMap<>();
    private final List<UcpRequest> closing = new ArrayList<>();
    private final Map<Long, Xfer> pendingReads = new HashMap<>();
    private final ReadServer reads = new ReadServer(this);
    private long nextReadId;

    /**
     * @param name          unique per start (NIXL uses a uuid4)
     * @param secret        notifications are signed with it, and only signed ones are believed
     * @param notifications hears each verified notification, on the agent thread (keep it short)
     */
    public NixlAgent(String name, ClusterSecret secret, Consumer<String> notifications) {
        this(name, secret, notifications, null, true);
    }

    /**
     * @param tls UCX's transport list for this agent's context ({@code UCX_TLS} syntax, e.g. {@code "tcp"} or
     *            {@code "sm"}), or null for UCX's own choice (which the {@code UCX_TLS} environment variable narrows)
     * @param peerErrors UCX's peer error handling on this agent's connections: a dead peer fails its transfers at
     *            once. UCX 1.13's shared-memory transports (posix, sysv) cannot honour it, so with it UCX carries even
     *            same-host transfers over tcp; without it (benchmarks) same-host transfers use sysv/posix and cma,
     *            and a dead peer is noticed only by the transfer deadline
     */
    public NixlAgent(String name, ClusterSecret secret, Consumer<String> notifications, String tls,
                     boolean peerErrors) {
        Ucx.require();
        this.peerErrors = peerErrors;
        this.name = name;
        this.secret = secret;
        this.notifications = notifications;
        UcpParams params = new UcpParams().requestRmaFeature().requestAmFeature();
        if (tls != null) {
            params.setConfig("TLS", tls);
        }
        // UCX 1.13 emulates RMA over tcp with 8 KB segments; 1 MB segments move KV 3-5x faster (bench-transfer).
        // UCX_TCP_TX_SEG_SIZE / UCX_TCP_RX_SEG_SIZE in the environment still win.
        for (String seg : new String[] {"TX_SEG_SIZE", "RX_SEG_SIZE"}) {
            if (System.getenv("UCX_TCP_" + seg) == null && (tls == null || tls.contains("tcp"))) {
                params.setConfig(seg, TCP_SEGMENT);
            }
        }
        this.context = new UcpContext(params);
        Live.CONTEXTS.incrementAndGet();
        try {
            this.worker = context.newWorker(new UcpWorkerParams());
            Live.WORKERS.incrementAndGet();
            this.workerAddress = Base64.getEncoder().encodeToString(bytes(worker.getAddress()));
            worker.setAmRecvHandler(NOTIF_AM_ID, this::onNotification);
            worker.setAmRecvHandler(READ_AM_ID, (h, hs, data, ep) -> onMessage(data, reads::serve),
                    UcpConstants.UCP_AM_FLAG_WHOLE_MSG);
            worker.setAmRecvHandler(DONE_AM_ID, (h, hs, data, ep) -> onMessage(data, this::onReadDone),
                    UcpConstants.UCP_AM_FLAG_WHOLE_MSG);
        } catch (RuntimeException e) {
            context.close();
            Live.CONTEXTS.decrementAndGet();
            throw e;
        }
        this.thread = Thread.ofPlatform().daemon().name("tandem-nixl-" + name.replaceAll("[^A-Za-z0-9._-]", "_"))
                .start(this::loop);
    }

    public String name() {
        return name;
    }

    /** This agent's UCX worker address, base64: the part of its metadata every region shares. */
    public String workerAddress() {
        return workerAddress;
    }

    // for ReadServer, on the agent thread
    ClusterSecret secret() {
        return secret;
    }

    UcpMemory registration(String region) {
        return registrations.get(region);
    }

    boolean connected(Peer p) {
        return peers.get(p.agent) == p;
    }

    void notifySelf(String notification) {
        notifications.accept(notification);
    }

    void rejected() {
        rejectedNotifications.incrementAndGet();
    }

    /** Notifications dropped because their signature was wrong or they were malformed. */
    public long rejectedNotifications() {
        return rejectedNotifications.get();
    }

    /** Registers {@code segment}'s native memory (NIXL's {@code register_memory}); peers may then write there. */
    public CompletableFuture<AgentMemory> register(String region, MemorySegment segment) {
        if (!segment.isNative() || segment.byteSize() == 0) {
            throw new IllegalArgumentException("nixl: region '" + region + "' must be non-empty native memory");
        }
        return call(() -> {
            if (registrations.containsKey(region)) {
                throw new IllegalStateException("nixl: region '" + region + "' is already registered");
            }
            UcpMemory m = context.memoryMap(new UcpMemMapParams().setAddress(segment.address())
                    .setLength(segment.byteSize()));
            Live.REGISTRATIONS.incrementAndGet();
            registrations.put(region, m);
            return new AgentMemory(name, workerAddress, segment.address(),
                    Base64.getEncoder().encodeToString(bytes(m.getRemoteKeyBuffer())));
        });
    }

    /**
     * Posts a WRITE: for each descriptor i, {@code lengths[i]} bytes from local {@code src[i]} to the peer's
     * {@code dst[i]} (inside {@code remote}, checked by the caller), then the notification (null: none).
     */
    public CompletableFuture<Xfer> write(AgentMemory remote, long[] src, long[] dst, long[] lengths,
                                         String notification) {
        byte[] notif = notification == null ? null : notification.getBytes(StandardCharsets.US_ASCII);
        if (notif != null && (notif.length == 0 || notif.length > MAX_NOTIF_BYTES)) {
            throw new IllegalArgumentException("nixl: notification of " + notif.length + " bytes (1.."
                    + MAX_NOTIF_BYTES + ")");
        }
        return call(() -> {
            Peer p = peer(remote);
            UcpRemoteKey rkey = rkey(p, remote.rkey());
            Xfer x = new Xfer(p);
            Live.TRANSFERS.incrementAndGet();
            p.inflight.add(x);
            for (int i = 0; i < src.length; i++) {
                p.endpoint.putNonBlockingImplicit(src[i], lengths[i], dst[i], rkey);
            }
            // the flush completes when every put above is in the peer's memory: only then is the notif sent
            p.endpoint.flushNonBlocking(callback(x, ok -> {
                if (notif == null) {
                    x.succeed();
                    return;
                }
                x.header = signedNotification(remote.agent(), notif);
                p.endpoint.sendAmNonBlocking(NOTIF_AM_ID, UcxUtils.getAddress(x.header), x.header.remaining(), 0, 0,
                        0, callback(x, sent -> x.succeed()));
            }));
            return x;
        });
    }

    /**
     * Asks the agent that owns {@code reader} to READ (NIXL's pull, vLLM's choreography): descriptor i is
     * {@code lengths[i]} bytes from this agent's region {@code src} at {@code srcOffsets[i]} into the reader's region
     * {@code readerRegion} at {@code dstOffsets[i]}. The reader checks its bounds, posts the gets, flushes, delivers
     * the notification to itself and answers; the transfer is DONE when that answer says the data landed.
     */
    public CompletableFuture<Xfer> askToRead(AgentMemory reader, String readerRegion, AgentMemory src,
                                             long[] srcOffsets, long[] dstOffsets, long[] lengths,
                                             String notification) {
        if (lengths.length > ReadMessages.MAX_DESCRIPTORS) {
            throw new IllegalArgumentException("nixl: " + lengths.length + " descriptors in one READ");
        }
        return call(() -> {
            Peer p = peer(reader);
            Xfer x = new Xfer(p);
            Live.TRANSFERS.incrementAndGet();
            p.inflight.add(x);
            long id = ++nextReadId;
            pendingReads.put(id, x);
            x.cleanup = () -> pendingReads.remove(id);
            x.header = direct(ReadMessages.encode(secret, reader.agent(), new ReadMessages.Request(id,
                    notification == null ? "" : notification, readerRegion, src, srcOffsets, dstOffsets, lengths)));
            p.endpoint.sendAmNonBlocking(READ_AM_ID, 0, 0, UcxUtils.getAddress(x.header), x.header.remaining(),
                    UcpConstants.UCP_AM_SEND_FLAG_EAGER, callback(x, sent -> { })); // DONE comes with the answer
            return x;
        });
    }

    /** Requester side: the reader's answer. */
    private void onReadDone(byte[] msg) {
        ReadMessages.Done d;
        try {
            d = ReadMessages.done(secret, name, msg);
        } catch (IOException | RuntimeException e) {
            rejectedNotifications.incrementAndGet();
            LOG.warn("nixl agent {}: dropped a READ answer: {}", name, e.getMessage());
            return;
        }
        Xfer x = pendingReads.get(d.id());
        if (x == null) {
            return; // failed or aborted meanwhile
        }
        if (d.error().isEmpty()) {
            x.succeed();
        } else {
            x.fail("READ by agent " + x.peer.agent + ": " + d.error());
        }
    }

    /** A whole-message active message: its bytes are copied and handled as a task, after UCX's callback. */
    private int onMessage(UcpAmData data, Consumer<byte[]> handler) {
        if (data.isDataValid() && data.getLength() <= ReadMessages.MAX_DESCRIPTORS * 24L + 4096) {
            byte[] msg = bytes(UcxUtils.getByteBufferView(data.getDataAddress(), data.getLength()));
            tasks.add(() -> handler.accept(msg));
        } else {
            rejectedNotifications.incrementAndGet();
        }
        return UcsConstants.STATUS.UCS_OK;
    }

    /** Forgets a peer agent (it left or restarted): its transfers fail, its connection and keys are released. */
    public CompletableFuture<Void> forget(String agent) {
        return call(() -> {
            Peer p = peers.get(agent);
            if (p != null) {
                dropPeer(p, "peer agent " + agent + " was forgotten");
            }
            return null;
        });
    }

    /** Peer agents this agent holds a connection to now. */
    public CompletableFuture<Integer> peerCount() {
        return call(peers::size);
    }

    Peer peer(AgentMemory remote) {
        Peer p = peers.get(remote.agent());
        if (p != null) {
            return p;
        }
        byte[] address = Base64.getDecoder().decode(remote.workerAddress());
        Peer[] self = new Peer[1];
        UcpEndpointParams params = new UcpEndpointParams().setUcpAddress(direct(address))
                .setName("tandem-nixl-" + remote.agent());
        if (peerErrors) {
            params.setPeerErrorHandlingMode();
        }
        UcpEndpoint ep = worker.newEndpoint(params.setErrorHandler((e, status, msg) -> {
                    // on the agent thread, inside progress: fail its transfers now, release the endpoint later
                    String why = "connection to agent " + remote.agent() + " failed: " + msg + " (" + status + ")";
                    if (self[0] != null) {
                        new ArrayList<>(self[0].inflight).forEach(x -> x.fail(why));
                        Peer dead = self[0];
                        tasks.add(() -> dropPeer(dead, why));
                    }
                }));
        Live.ENDPOINTS.incrementAndGet();
        p = new Peer(remote.agent(), ep);
        self[0] = p;
        peers.put(remote.agent(), p);
        return p;
    }

    UcpRemoteKey rkey(Peer p, String packed) {
        UcpRemoteKey k = p.rkeys.get(packed);
        if (k == null) {
            k = p.endpoint.unpackRemoteKey(direct(Base64.getDecoder().decode(packed)));
            Live.REMOTE_KEYS.incrementAndGet();
            p.rkeys.put(packed, k);
        }
        return k;
    }

    void dropPeer(Peer p, String why) {
        if (peers.get(p.agent) != p) {
            return; // already dropped
        }
        peers.remove(p.agent);
        new ArrayList<>(p.inflight).forEach(x -> x.fail(why));
        for (UcpRemoteKey k : p.rkeys.values()) {
            k.close();
            Live.REMOTE_KEYS.decrementAndGet();
        }
        p.rkeys.clear();
        try { // a forced close (cancels what is in flight) needs peer error handling; else flush, bounded by close()
            closing.add(peerErrors ? p.endpoint.closeNonBlockingForce() : p.endpoint.closeNonBlockingFlush());
        } catch (RuntimeException e) {
            LOG.warn("nixl agent {}: closing the connection to {}: {}", name, p.agent, e.toString());
        }
        Live.ENDPOINTS.decrementAndGet();
    }

    private ByteBuffer signedNotification(String peerAgent, byte[] msg) {
        byte[] mac = secret.mac("tandem-nixl-notif".getBytes(StandardCharsets.US_ASCII),
                peerAgent.getBytes(StandardCharsets.UTF_8), msg);
        return direct(msg, mac);
    }

    /** The notification active message: the header is the message then its 32-byte HMAC for this agent. */
    private int onNotification(long headerAddress, long headerSize, UcpAmData data, UcpEndpoint replyEp) {
        if (headerSize <= MAC_BYTES || headerSize > MAX_NOTIF_BYTES + MAC_BYTES) {
            rejectedNotifications.incrementAndGet();
            return UcsConstants.STATUS.UCS_OK;
        }
        byte[] all = bytes(UcxUtils.getByteBufferView(headerAddress, headerSize));
        byte[] msg = Arrays.copyOf(all, all.length - MAC_BYTES);
        byte[] mac = Arrays.copyOfRange(all, all.length - MAC_BYTES, all.length);
        byte[] expected = secret.mac("tandem-nixl-notif".getBytes(StandardCharsets.US_ASCII),
                name.getBytes(StandardCharsets.UTF_8), msg);
        if (!ClusterSecret.equal(expected, mac)) {
            rejectedNotifications.incrementAndGet();
            LOG.warn("nixl agent {}: dropped a notification without a valid cluster-secret signature", name);
            return UcsConstants.STATUS.UCS_OK;
        }
        try {
            notifications.accept(new String(msg, StandardCharsets.US_ASCII));
        } catch (RuntimeException e) {
            LOG.warn("nixl agent {}: notification handler failed: {}", name, e.toString());
        }
        return UcsConstants.STATUS.UCS_OK;
    }

    private static UcxCallback callback(Xfer x, Consumer<UcpRequest> onSuccess) {
        return new UcxCallback() {
            @Override
            public void onSuccess(UcpRequest request) {
                if (x.state() == Xfer.State.PROC) {
                    onSuccess.accept(request);
                }
            }

            @Override
            public void onError(int status, String message) {
                x.fail("UCX error " + status + ": " + message);
            }
        };
    }

    private <T> CompletableFuture<T> call(Callable<T> c) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (!running) {
            f.completeExceptionally(new IllegalStateException("nixl agent " + name + " is closed"));
            return f;
        }
        tasks.add(() -> {
            if (released) {
                f.completeExceptionally(new IllegalStateException("nixl agent " + name + " is closed"));
                return;
            }
            try {
                f.complete(c.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        LockSupport.unpark(thread);
        return f;
    }

    /** Runs tasks and UCX progress; spins while busy, then naps 50 µs, and 1 ms after a longer idle spell. */
    private void loop() {
        int idle = 0;
        try {
            while (running) {
                boolean busy = false;
                for (Runnable t; (t = tasks.poll()) != null; ) {
                    t.run();
                    busy = true;
                }
                if (worker.progress() > 0) {
                    busy = true;
                }
                closing.removeIf(UcpRequest::isCompleted);
                reads.tick();
                if (busy) {
                    idle = 0;
                } else if (++idle > 200) {
                    LockSupport.parkNanos(idle > 2000 ? 1_000_000 : 50_000);
                }
            }
        } catch (Throwable e) {
            LOG.error("nixl agent {}: progress thread failed; the agent stops", name, e);
        } finally {
            release();
        }
    }

    private void release() {
        for (Peer p : new ArrayList<>(peers.values())) {
            dropPeer(p, "nixl agent " + name + " closed");
        }
        long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
        try {
            while (!closing.isEmpty() && System.nanoTime() < deadline) {
                worker.progress();
                closing.removeIf(UcpRequest::isCompleted);
            }
        } catch (Exception e) {
            LOG.warn("nixl agent {}: closing endpoints: {}", name, e.toString());
        }
        closing.clear();
        for (UcpMemory m : registrations.values()) {
            m.deregister();
            Live.REGISTRATIONS.decrementAndGet();
        }
        registrations.clear();
        reads.clear();
        worker.removeAmRecvHandler(NOTIF_AM_ID);
        worker.removeAmRecvHandler(READ_AM_ID);
        worker.removeAmRecvHandler(DONE_AM_ID);
        worker.close();
        Live.WORKERS.decrementAndGet();
        context.close();
        Live.CONTEXTS.decrementAndGet();
        released = true;
        for (Runnable t; (t = tasks.poll()) != null; ) {
            t.run(); // each fails: released
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        if (Thread.currentThread() != thread) {
            try {
                thread.join(CLOSE_WAIT_NANOS / 1_000_000 + 3000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    static ByteBuffer direct(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer b = ByteBuffer.allocateDirect(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.flip();
    }
}
