package dev.tandem.transfer.nixl;

import dev.tandem.config.ClusterSecret;
import dev.tandem.transfer.AgentMemory;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.transfer.TransferEngine;
import dev.tandem.transfer.WriteOp;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;

/**
 * The {@code nixl} transfer backend: SGLang's NIXL choreography (prefill pushes with WRITE) behind Tandem's transfer
 * SPI, so the sender and receiver managers (timeouts, heartbeat, abort, incarnations) are the mooncake backend's. A
 * worker's agent registers its KV pool and aux rows; registrations carry the agent's metadata to the peer in the
 * (signed) KV-args registration; a batch is a descriptor list (one per layer × contiguous page run, K and V) posted as
 * UCX puts, then, after the data landed, the notification. On the receiving side notifications are tracked per room
 * and a complete room is reported through {@link #onDelivered}. Which UCX transport moves the bytes (shared memory
 * on one host, tcp across hosts) is UCX's choice ({@code UCX_TLS} narrows it).
 */
public final class NixlTransferEngine implements TransferEngine {
    /** As the TCP transport's stalled-write bound: a WRITE that has not completed by then fails. */
    public static final long DEFAULT_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final long STALE_NOTIFICATIONS_NANOS = TimeUnit.MINUTES.toNanos(10);

    /** Who moves the bytes: the prefill writes (SGLang's choreography) or the decode reads (vLLM's). */
    public enum Mode { PUSH, PULL }

    private final NixlAgent agent;
    private final UcxKvMemory memory;
    private final Mode mode;
    private final String host;
    /** This engine's registrations by name: where they are, for finding a READ's source region. */
    private final java.util.Map<String, AgentMemory> regions = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Map<String, Long> regionBytes = new java.util.concurrent.ConcurrentHashMap<>();
    private final long deadlineNanos;
    private final Notifications notifications = new Notifications(STALE_NOTIFICATIONS_NANOS);
    private volatile String lastError = "";

    /**
     * @param advertiseHost the host registrations name (informational: UCX reaches the agent by its worker address)
     * @param secret        signs and checks notifications
     */
    public NixlTransferEngine(String advertiseHost, ClusterSecret secret) {
        this(advertiseHost, secret, DEFAULT_DEADLINE_NANOS);
    }

    public NixlTransferEngine(String advertiseHost, ClusterSecret secret, long deadlineNanos) {
        this(advertiseHost, secret, deadlineNanos, null, Mode.PUSH);
    }

    /**
     * @param tls  UCX transports for this engine's agent ({@code UCX_TLS} syntax), or null for UCX's choice: shared
     *             memory (sysv/posix, cma) with an agent on the same host, tcp with one on another (see
     *             {@link Connections})
     * @param mode PUSH: this engine writes into peers; PULL: it asks them to read (peers serve either)
     */
    public NixlTransferEngine(String advertiseHost, ClusterSecret secret, long deadlineNanos, String tls, Mode mode) {
        this.mode = mode;
        this.host = advertiseHost;
        this.deadlineNanos = deadlineNanos;
        this.agent = new NixlAgent("agent-" + UUID.randomUUID(), secret, notifications::on, tls,
                deadlineNanos);
        this.memory = new UcxKvMemory(agent, deadlineNanos);
        org.slf4j.LoggerFactory.getLogger(NixlTransferEngine.class).info(
                "KV transfer (nixl over UCX, {}): agent {}, UCX_TLS={}", mode.name().toLowerCase(java.util.Locale.ROOT),
                agent.name(),
                tls != null ? tls : System.getenv().getOrDefault("UCX_TLS", "(UCX's choice)"));
    }

    public NixlAgent agent() {
        return agent;
    }

    /**
     * Memory UCX allocates, for the KV pool and aux rows: a peer agent on this host then puts and gets with a plain
     * copy through UCX's shared-memory transports (sysv/posix), where memory it only registers gets emulated puts.
     */
    @Override
    public dev.tandem.kvcache.KvMemory kvMemory() {
        return memory;
    }

    @Override
    public SegmentDescriptor register(String name, MemorySegment segment, Path backingFile) {
        AgentMemory m = await(agent.register(name, segment), "register '" + name + "'");
        regions.put(name, m);
        regionBytes.put(name, segment.byteSize());
        // no shm file and no TCP server: the host fields are informational, UCX reaches the agent by its address
        return new SegmentDescriptor(name, "nixl:" + host, null, host, 0, segment.byteSize(), null, m);
    }

    @Override
    public int batchWrite(SegmentDescriptor remote, List<WriteOp> ops) {
        return batchWrite(remote, ops, null);
    }

    /** Posts the descriptor list and, after it, the notification; waits for both up to the deadline. */
    @Override
    public int batchWrite(SegmentDescriptor remote, List<WriteOp> ops, String notification) {
        AgentMemory dst = remote.nixl();
        if (dst == null) {
            lastError = "segment '" + remote.name() + "' is not a nixl registration";
            return -1;
        }
        int n = ops.size();
        long[] src = new long[n];
        long[] to = new long[n];
        long[] len = new long[n];
        for (int i = 0; i < n; i++) {
            WriteOp op = ops.get(i);
            if (!op.src().isNative() || op.dstOffset() + op.length() > remote.bytes()) {
                lastError = "nixl " + verb() + " '" + remote.name() + "': descriptor " + i + " (" + op.dstOffset() + "+"
                        + op.length() + ") outside its " + remote.bytes() + " bytes, or not native memory";
                return -1;
            }
            src[i] = op.src().address() + op.srcOffset();
            to[i] = dst.address() + op.dstOffset();
            len[i] = op.length();
        }
        Xfer x;
        long deadline = System.nanoTime() + deadlineNanos;
        try {
            if (mode == Mode.PUSH) {
                x = agent.write(dst, src, to, len, notification, deadline);
            } else {
                AgentMemory from;
                try {
                    from = regionOf(ops);
                } catch (RuntimeException e) {
                    lastError = "nixl READ by agent " + dst.agent() + ": registering the source: " + e.getMessage();
                    return -1;
                }
                if (from == null) {
                    lastError = "nixl READ by agent " + dst.agent() + ": the source is not one registered region";
                    return -1;
                }
                long[] srcOff = new long[n];
                long[] dstOff = new long[n];
                for (int i = 0; i < n; i++) {
                    srcOff[i] = src[i] - from.address();
                    dstOff[i] = ops.get(i).dstOffset();
                }
                x = agent.askToRead(dst, remote.name(), from, srcOff, dstOff, len, notification, deadline);
            }
            if (x.state() != Xfer.State.DONE) {
                lastError = "nixl " + verb() + " agent " + dst.agent() + " failed: " + x.error();
                return -1;
            }
            return 0;
        } catch (TimeoutException e) {
            lastError = "nixl " + verb() + " agent " + dst.agent() + " timed out after " + deadlineNanos / 1_000_000
                    + " ms";
            abortAll(dst);
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            lastError = "nixl " + verb() + " agent " + dst.agent() + " interrupted";
            abortAll(dst);
            return -1;
        } catch (Exception e) { // a refusal before posting, a UCX error, a closed agent: never out of the SPI
            lastError = "nixl " + verb() + " agent " + dst.agent() + ": " + e.getMessage();
            return -1;
        }
    }

    /**
     * The registered region holding every op's source (PULL: the reader reads from it), or null. A source segment
     * not registered yet (a prefill worker registers nothing for push) is registered whole on first use.
     */
    private AgentMemory regionOf(List<WriteOp> ops) {
        if (!ops.isEmpty()) {
            MemorySegment seg = ops.getFirst().src();
            String name = "src@" + Long.toHexString(seg.address()) + "+" + seg.byteSize();
            synchronized (regions) {
                if (!regions.containsKey(name)) {
                    register(name, seg, null);
                }
            }
        }
        for (var e : regions.entrySet()) {
            long base = e.getValue().address();
            long end = base + regionBytes.get(e.getKey());
            boolean all = true;
            for (WriteOp op : ops) {
                long a = op.src().address() + op.srcOffset();
                all &= a >= base && a + op.length() <= end;
            }
            if (all) {
                return e.getValue();
            }
        }
        return ops.isEmpty() && !regions.isEmpty() ? regions.values().iterator().next() : null;
    }

    /** A WRITE past its deadline: drop the connection so nothing of it still lands in the peer's memory. */
    private void abortAll(AgentMemory dst) {
        try {
            agent.forget(dst.agent()).get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException | InterruptedException e) {
            lastError += " (and closing the connection failed: " + e + ")";
        }
    }

    private String verb() {
        return mode == Mode.PUSH ? "WRITE to" : "READ by";
    }

    @Override
    public void accept(SegmentDescriptor remote) {
        if (remote.nixl() == null) {
            throw new IllegalArgumentException("transfer backend mismatch: segment '" + remote.name() + "' is not "
                    + "registered with transfer backend nixl (the peer uses mooncake or fake), this worker uses nixl "
                    + "(start both workers with the same --transfer-backend)");
        }
    }

    @Override
    public void onDelivered(LongConsumer listener) {
        notifications.listener(listener);
    }

    @Override
    public String transportFor(SegmentDescriptor remote) {
        return "ucx";
    }

    /**
     * The UCX transports this engine's connection to {@code remote}'s agent uses, as UCX reports them (e.g. {@code
     * sysv/memory(am,am_bw) cma/memory(rma_bw)}), or null before the first transfer to it.
     */
    public String lanes(SegmentDescriptor remote) {
        return remote.nixl() == null ? null : await(agent.lanes(remote.nixl().agent(), false), "lanes");
    }

    /**
     * The transport a put to (or get from) {@code remote} takes, as UCX resolves it for the region's remote key
     * ({@link UcxLanes#rmaPath}): e.g. {@code sysv/memory} for memory UCX allocated on this host, {@code am} when UCX
     * emulates puts with active messages; null before the first transfer to it.
     */
    public String rmaPath(SegmentDescriptor remote) {
        return remote.nixl() == null ? null : await(agent.rmaPath(remote.nixl()), "RMA path");
    }

    @Override
    public void forgetPeer(SegmentDescriptor remote) {
        if (remote.nixl() != null) {
            await(agent.forget(remote.nixl().agent()), "forget agent " + remote.nixl().agent());
        }
    }

    /** Rooms with some notifications received but not all (tests watch it return to zero). */
    public int pendingNotifiedRooms() {
        return notifications.pending();
    }

    @Override
    public String lastError() {
        return lastError;
    }

    @Override
    public void close() {
        memory.invalidateAll();
        agent.close();
    }

    private <T> T await(CompletableFuture<T> f, String what) {
        return await(f, deadlineNanos, what);
    }

    /** The agent's answer to {@code f} within {@code nanos}; a failure, timeout or interrupt names {@code what}. */
    static <T> T await(CompletableFuture<T> f, long nanos, String what) {
        try {
            return f.get(nanos, TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("nixl: " + what + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("nixl: " + what + ": no answer from the agent in time", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("nixl: " + what + ": interrupted", e);
        }
    }
}
