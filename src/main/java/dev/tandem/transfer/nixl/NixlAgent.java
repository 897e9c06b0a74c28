package dev.tandem.transfer.nixl;

import dev.tandem.config.ClusterSecret;
import dev.tandem.transfer.AgentMemory;
import org.openucx.jucx.UcxCallback;
import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpAmData;
import org.openucx.jucx.ucp.UcpConstants;
import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpEndpoint;
import org.openucx.jucx.ucp.UcpMemory;
import org.openucx.jucx.ucp.UcpRemoteKey;
import org.openucx.jucx.ucp.UcpRequest;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;
import org.openucx.jucx.ucs.UcsConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A NIXL agent over UCX: a named owner of one UCX context and worker, the memory it registered, and its connections
 * (endpoints and unpacked remote keys) to peer agents, which it opens once per peer agent from that agent's metadata.
 * Transfers are descriptor lists posted as one-sided puts, then a flush (the data is in the peer's memory), then a
 * notification to the peer as an active message, signed with the cluster secret.
 *
 * <p>Threads: UCX workers are single-threaded here, so every UCX call is made under the agent's lock ({@link
 * Driver}): a thread that transfers posts and drives its transfer itself (no hand-off on a transfer's path); the
 * agent's own thread serves peers and runs the tasks other calls hand it (they wait on futures, with deadlines: the
 * agent never blocks on a peer). Closing releases, on that thread, transfers in flight (failed), remote keys,
 * endpoints, registrations, the worker and the context ({@link Live} counts them).
 */
public final class NixlAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NixlAgent.class);
    static final int NOTIF_AM_ID = 0x4e;
    static final int READ_AM_ID = 0x4f;
    static final int DONE_AM_ID = 0x50;
    private static final long CLOSE_WAIT_NANOS = 2_000_000_000L;

    private final String name;
    private final ClusterSecret secret;
    private final Consumer<String> notifications;
    private final UcpContext context;
    private final UcpWorker worker;
    private final String workerAddress;
    private final Driver driver;
    private final AtomicLong rejectedNotifications = new AtomicLong();
    private volatile boolean running = true;
    private volatile boolean released;
    // touched under the driver's lock only
    private final Memories memories;
    private final Connections peers;
    private final ReadClient readRequests = new ReadClient(this);
    private final ReadServer reads;

    /**
     * @param name          unique per start (NIXL uses a uuid4)
     * @param secret        notifications are signed with it, and only signed ones are believed
     * @param notifications hears each verified notification, under the agent lock (keep it short)
     */
    public NixlAgent(String name, ClusterSecret secret, Consumer<String> notifications) {
        this(name, secret, notifications, null, NixlTransferEngine.DEFAULT_DEADLINE_NANOS);
    }

    /**
     * @param tls UCX's transport list for this agent's context ({@code UCX_TLS} syntax, e.g. {@code "tcp"} or
     *            {@code "sm"}), or null for UCX's own choice (which the {@code UCX_TLS} environment variable narrows)
     * @param deadlineNanos the requester's deadline for a transfer: a READ this agent serves is given up on at 2/3
     *            of it, so that it never outlives the room it is for
     */
    public NixlAgent(String name, ClusterSecret secret, Consumer<String> notifications, String tls,
                     long deadlineNanos) {
        this.reads = new ReadServer(this, deadlineNanos * 2 / 3);
        Ucx.require();
        this.name = name;
        this.secret = secret;
        this.notifications = notifications;
        this.context = Ucx.context(tls);
        Live.CONTEXTS.incrementAndGet();
        try {
            this.worker = context.newWorker(new UcpWorkerParams());
            Live.WORKERS.incrementAndGet();
            this.workerAddress = Base64.getEncoder().encodeToString(Ucx.bytes(worker.getAddress()));
            this.driver = new Driver(worker, this::round, reads::serving);
            this.peers = new Connections(name, worker, driver.tasks::add);
            this.memories = new Memories(context);
            worker.setAmRecvHandler(NOTIF_AM_ID, this::onNotification);
            worker.setAmRecvHandler(READ_AM_ID, (h, hs, data, ep) -> onMessage(data, reads::serve),
                    UcpConstants.UCP_AM_FLAG_WHOLE_MSG);
            worker.setAmRecvHandler(DONE_AM_ID, (h, hs, data, ep) -> onMessage(data, readRequests::onDone),
                    UcpConstants.UCP_AM_FLAG_WHOLE_MSG);
        } catch (RuntimeException e) {
            context.close();
            Live.CONTEXTS.decrementAndGet();
            throw e;
        }
        driver.start("tandem-nixl-" + name.replaceAll("[^A-Za-z0-9._-]", "_"), this::release);
    }

    public String name() {
        return name;
    }

    /** This agent's UCX worker address, base64: the part of its metadata every region shares. */
    public String workerAddress() {
        return workerAddress;
    }

    // for ReadServer, under the agent's lock
    ClusterSecret secret() {
        return secret;
    }

    UcpMemory registration(String region) {
        return memories.region(region);
    }

    Connections connections() {
        return peers;
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
            UcpMemory m = memories.register(region, segment);
            return new AgentMemory(name, workerAddress, segment.address(),
                    Base64.getEncoder().encodeToString(Ucx.bytes(m.getRemoteKeyBuffer())));
        });
    }

    /**
     * Memory for a KV pool or aux rows that UCX allocates ({@link Memories}); its address. Registering a segment
     * starting there uses UCX's own key for it. {@link #free} gives it back.
     */
    CompletableFuture<Long> allocate(long bytes) {
        return call(() -> memories.allocate(bytes));
    }

    /** Unmaps what {@link #allocate} returned at {@code address}, forgetting the regions registered on it. */
    CompletableFuture<Boolean> free(long address) {
        return call(() -> memories.free(address));
    }

    /**
     * A WRITE, posted and driven to its end on the calling thread: for each descriptor i, {@code lengths[i]} bytes
     * from local {@code src[i]} to the peer's {@code dst[i]} (inside {@code remote}, checked by the caller), then the
     * notification (null: none). Returns the transfer, DONE or ERR; a TimeoutException past {@code deadline}
     * (nanoTime) leaves it in flight, for the caller to abort.
     */
    public Xfer write(AgentMemory remote, long[] src, long[] dst, long[] lengths, String notification,
                      long deadline) throws Exception {
        byte[] notif = notification == null ? null : notification.getBytes(StandardCharsets.US_ASCII);
        if (notif != null && (notif.length == 0 || notif.length > SignedNotifs.MAX_NOTIF_BYTES)) {
            throw new IllegalArgumentException("nixl: notification of " + notif.length + " bytes (1.."
                    + SignedNotifs.MAX_NOTIF_BYTES + ")");
        }
        return driver.transfer(() -> {
            Peer p = peers.peer(remote);
            UcpRemoteKey rkey = peers.rkey(p, remote.rkey());
            Xfer t = start(p);
            for (int i = 0; i < src.length; i++) {
                p.endpoint.putNonBlockingImplicit(src[i], lengths[i], dst[i], rkey);
            }
            // the flush completes when every put above is in the peer's memory: only then is the notif sent (on
            // shared memory the puts copied as they were posted, and this completes at once)
            p.endpoint.flushNonBlocking(callback(t, ok -> {
                logLanes(p);
                if (notif == null) {
                    t.succeed();
                    return;
                }
                t.header = SignedNotifs.sign(secret, remote.agent(), notif);
                p.endpoint.sendAmNonBlocking(NOTIF_AM_ID, UcxUtils.getAddress(t.header), t.header.remaining(), 0, 0,
                        0, callback(t, sent -> t.succeed()));
            }));
            return t;
        }, NixlAgent::ended, deadline);
    }

    private static boolean ended(Xfer x) {
        return x.state() != Xfer.State.PROC;
    }

    /**
     * Asks the agent that owns {@code reader} to READ (NIXL's pull, vLLM's choreography), and drives it on the calling
     * thread until the reader's answer (or {@code deadline}, as {@link #write}): descriptor i is {@code lengths[i]}
     * bytes from this agent's region {@code src} at {@code srcOffsets[i]} into the reader's region {@code
     * readerRegion} at {@code dstOffsets[i]}. The reader checks its bounds, posts the gets, flushes, delivers the
     * notification to itself and answers; the transfer is DONE when that answer says the data landed. (Over tcp UCX
     * emulates the gets with messages this side answers: the calling thread's progress serves them.)
     */
    public Xfer askToRead(AgentMemory reader, String readerRegion, AgentMemory src, long[] srcOffsets,
                          long[] dstOffsets, long[] lengths, String notification, long deadline) throws Exception {
        if (lengths.length > ReadMessages.MAX_DESCRIPTORS) {
            throw new IllegalArgumentException("nixl: " + lengths.length + " descriptors in one READ");
        }
        return driver.transfer(() -> {
            Peer p = peers.peer(reader);
            Xfer t = start(p);
            readRequests.post(p, t, reader, readerRegion, src, srcOffsets, dstOffsets, lengths, notification);
            return t;
        }, NixlAgent::ended, deadline);
    }

    /** A transfer to {@code p}, counted until it ends (under the agent's lock). */
    private Xfer start(Peer p) {
        Xfer x = new Xfer(p);
        Live.TRANSFERS.incrementAndGet();
        p.inflight.add(x);
        return x;
    }

    /** A whole-message active message: its bytes are copied and handled as a task, after UCX's callback. */
    private int onMessage(UcpAmData data, Consumer<byte[]> handler) {
        if (data.isDataValid() && data.getLength() <= ReadMessages.MAX_DESCRIPTORS * 24L + 4096) {
            byte[] msg = Ucx.bytes(UcxUtils.getByteBufferView(data.getDataAddress(), data.getLength()));
            driver.tasks.add(() -> handler.accept(msg)); // run in this round, after progress
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
                peers.drop(p, "peer agent " + agent + " was forgotten");
            }
            return null;
        });
    }

    /**
     * The UCX transports of the connection to {@code agent} as UCX reports them ({@link UcxLanes}), e.g. {@code
     * sysv/memory(am,am_bw,rma) posix/memory(rma) cma/memory(rma_bw)}; null when there is none. Raw: UCX's whole text.
     */
    public CompletableFuture<String> lanes(String agent, boolean raw) {
        return call(() -> peers.lanes(agent, raw));
    }

    void logLanes(Peer p) {
        peers.logLanes(p);
    }

    /** Which lane a put to {@code remote} takes ({@link UcxLanes#rmaPath}); null if not connected to its agent. */
    public CompletableFuture<String> rmaPath(AgentMemory remote) {
        return call(() -> peers.rmaPath(remote.agent(), remote.rkey()));
    }

    /** Peer agents this agent holds a connection to now. */
    public CompletableFuture<Integer> peerCount() {
        return call(peers::size);
    }

    /** Forgets {@code p} (under the agent's lock). */
    void dropPeer(Peer p, String why) {
        peers.drop(p, why);
    }

    /** The notification active message: the header is the message then its HMAC for this agent. */
    private int onNotification(long headerAddress, long headerSize, UcpAmData data, UcpEndpoint replyEp) {
        String msg = headerSize > SignedNotifs.MAC_BYTES + SignedNotifs.MAX_NOTIF_BYTES ? null : SignedNotifs.verify(
                secret, name, Ucx.bytes(UcxUtils.getByteBufferView(headerAddress, headerSize)));
        if (msg == null) {
            rejectedNotifications.incrementAndGet();
            LOG.warn("nixl agent {}: dropped a notification without a valid cluster-secret signature", name);
            return UcsConstants.STATUS.UCS_OK;
        }
        try {
            notifications.accept(msg);
        } catch (RuntimeException e) {
            LOG.warn("nixl agent {}: notification handler failed: {}", name, e.toString());
        }
        return UcsConstants.STATUS.UCS_OK;
    }

    static UcxCallback callback(Xfer x, Consumer<UcpRequest> onSuccess) {
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

    /** Runs {@code c} as a task of whoever drives the worker next (usually the agent's thread). */
    private <T> CompletableFuture<T> call(Callable<T> c) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (!running) {
            f.completeExceptionally(new IllegalStateException("nixl agent " + name + " is closed"));
            return f;
        }
        driver.submit(() -> {
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
        return f;
    }

    /**
     * One round of the agent's work, by whoever holds the driver's lock: UCX progress (its callbacks run here), then
     * the tasks (handed in, or queued by those callbacks), then deadline checks; true if anything happened.
     */
    private boolean round() throws Exception {
        boolean busy = worker.progress() > 0;
        for (Runnable t; (t = driver.tasks.poll()) != null; ) {
            t.run();
            busy = true;
        }
        peers.tick();
        reads.tick();
        return busy;
    }

    private void release() {
        peers.closeAll("nixl agent " + name + " closed", System.nanoTime() + CLOSE_WAIT_NANOS);
        memories.releaseAll(); // a pool still open past its agent: its block's arena was closed first (UcxKvMemory)
        reads.clear();
        worker.removeAmRecvHandler(NOTIF_AM_ID);
        worker.removeAmRecvHandler(READ_AM_ID);
        worker.removeAmRecvHandler(DONE_AM_ID);
        worker.close();
        Live.WORKERS.decrementAndGet();
        context.close();
        Live.CONTEXTS.decrementAndGet();
        released = true;
        for (Runnable t; (t = driver.tasks.poll()) != null; ) {
            t.run(); // each fails: the agent is closed
        }
    }

    @Override
    public void close() {
        running = false;
        driver.stop();
        if (Thread.currentThread() != driver.thread()) {
            try {
                driver.thread().join(CLOSE_WAIT_NANOS / 1_000_000 + 3000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
