package dev.tandem.transfer.nixl;

import dev.tandem.transfer.AgentMemory;
import org.openucx.jucx.ucp.UcpEndpoint;
import org.openucx.jucx.ucp.UcpEndpointParams;
import org.openucx.jucx.ucp.UcpRemoteKey;
import org.openucx.jucx.ucp.UcpRequest;
import org.openucx.jucx.ucp.UcpWorker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * An agent's connections to peer agents: one UCX endpoint per peer agent, opened from its metadata (worker address)
 * on first use, and the remote keys unpacked on it. Under the agent lock only.
 *
 * <p>Endpoints use UCX's default error handling mode (none), not peer error handling: UCX 1.13's shared-memory
 * transports (sysv, posix) cannot detect a dead peer, so asking for it makes UCX carry even same-host traffic over
 * tcp. Tandem detects dead peers itself (heartbeat, bootstrap and transfer deadlines, incarnations, write leases), so
 * UCX is left to choose: sysv/posix and cma on one host, tcp across hosts. An error UCX does see (cma to a pid that
 * is gone: ESRCH; a tcp connection reset) still reaches the error callback, installed on every endpoint (without one
 * UCX treats the error as fatal), which fails the peer's transfers at once. A peer that hangs instead is caught by
 * the transfer deadline ({@link NixlTransferEngine}), which forgets the peer here.
 */
final class Connections {
    private static final Logger LOG = LoggerFactory.getLogger(Connections.class);

    private final String self;
    private final UcpWorker worker;
    /** Where an endpoint's error callback hands work (it runs inside UCX's progress: no UCX call there). */
    private final Consumer<Runnable> later;
    private final Map<String, Peer> peers = new HashMap<>();
    /** Endpoints closing (flushing what was posted) and their requests; bounded by the agent's close. */
    private final List<UcpRequest> closing = new ArrayList<>();

    Connections(String self, UcpWorker worker, Consumer<Runnable> later) {
        this.self = self;
        this.worker = worker;
        this.later = later;
    }

    /** The connection to {@code remote}'s agent, opened now if there is none. */
    Peer peer(AgentMemory remote) {
        Peer p = peers.get(remote.agent());
        if (p != null) {
            return p;
        }
        byte[] address = Base64.getDecoder().decode(remote.workerAddress());
        Peer[] created = new Peer[1];
        UcpEndpointParams params = new UcpEndpointParams().setUcpAddress(Ucx.direct(address))
                .setName("tandem-nixl-" + remote.agent())
                .setErrorHandler((e, status, msg) -> {
                    // inside progress: fail its transfers now, release the endpoint after
                    String why = "connection to agent " + remote.agent() + " failed: " + msg + " (" + status + ")";
                    Peer dead = created[0];
                    if (dead != null) {
                        new ArrayList<>(dead.inflight).forEach(x -> x.fail(why));
                        later.accept(() -> drop(dead, why));
                    }
                });
        UcpEndpoint ep = worker.newEndpoint(params);
        Live.ENDPOINTS.incrementAndGet();
        p = new Peer(remote.agent(), ep);
        created[0] = p;
        peers.put(remote.agent(), p);
        return p;
    }

    Peer get(String agent) {
        return peers.get(agent);
    }

    boolean connected(Peer p) {
        return peers.get(p.agent) == p;
    }

    int size() {
        return peers.size();
    }

    /** UCX's description of the connection to {@code agent} (raw), or its lanes' summary; null if none. */
    String lanes(String agent, boolean raw) {
        Peer p = peers.get(agent);
        if (p == null) {
            return null;
        }
        String text = UcxLanes.print(p.endpoint.getNativeId());
        return raw ? text : UcxLanes.summary(text);
    }

    /**
     * Logs, once per connection and after data moved on it (its lanes are settled then), the transports UCX chose:
     * {@code nixl agent A -> B: UCX transports sysv/memory(am,am_bw,rma) posix/memory(rma) cma/memory(rma_bw); one-sided
     * ops to its memory via [sysv/memory]} ({@code [am]}: emulated with active messages). Tests read it.
     */
    void logLanes(Peer p) {
        if (!p.lanesLogged) {
            p.lanesLogged = true;
            later.accept(() -> { // after the callback that called this: not from inside UCX's progress
                if (connected(p)) {
                    String text = lanes(p.agent, true);
                    java.util.Set<String> rma = new java.util.TreeSet<>();
                    for (String packed : p.rkeys.keySet()) {
                        rma.add(UcxLanes.rmaPath(text, Base64.getDecoder().decode(packed)));
                    }
                    LOG.info("nixl agent {} -> {}: UCX transports {}; one-sided ops to its memory via {}", self,
                            p.agent, UcxLanes.summary(text), rma);
                }
            });
        }
    }

    /** Which lane a put to memory with the packed key {@code rkey} of {@code agent} takes; null if not connected. */
    String rmaPath(String agent, String rkey) {
        String text = lanes(agent, true);
        return text == null ? null : UcxLanes.rmaPath(text, Base64.getDecoder().decode(rkey));
    }

    /** {@code packed} unpacked on {@code p}'s endpoint, once. */
    UcpRemoteKey rkey(Peer p, String packed) {
        UcpRemoteKey k = p.rkeys.get(packed);
        if (k == null) {
            k = p.endpoint.unpackRemoteKey(Ucx.direct(Base64.getDecoder().decode(packed)));
            Live.REMOTE_KEYS.incrementAndGet();
            p.rkeys.put(packed, k);
        }
        return k;
    }

    /**
     * Forgets a peer: its transfers fail with {@code why}, its keys are released and its endpoint closed. Without
     * peer error handling UCX closes by flushing (a forced close needs it): what was posted may still complete, which
     * on shared memory is at once, or fails (the peer is gone). A write past its deadline is the caller's to fence
     * (write leases).
     */
    void drop(Peer p, String why) {
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
        try {
            closing.add(p.endpoint.closeNonBlockingFlush());
        } catch (RuntimeException e) {
            LOG.warn("nixl agent {}: closing the connection to {}: {}", self, p.agent, e.toString());
        }
        Live.ENDPOINTS.decrementAndGet();
    }

    /** Each round of the agent's loop. */
    void tick() {
        if (!closing.isEmpty()) {
            closing.removeIf(UcpRequest::isCompleted);
        }
    }

    /** Drops every peer, then progresses the closes until done or {@code deadlineNanos} (System.nanoTime). */
    void closeAll(String why, long deadlineNanos) {
        for (Peer p : new ArrayList<>(peers.values())) {
            drop(p, why);
        }
        try {
            while (!closing.isEmpty() && System.nanoTime() < deadlineNanos) {
                worker.progress();
                closing.removeIf(UcpRequest::isCompleted);
            }
        } catch (Exception e) {
            LOG.warn("nixl agent {}: closing endpoints: {}", self, e.toString());
        }
        closing.clear(); // the worker's destruction releases what is left
    }
}
