package dev.tandem.transfer.nixl;

import org.openucx.jucx.UcxCallback;
import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpConstants;
import org.openucx.jucx.ucp.UcpMemory;
import org.openucx.jucx.ucp.UcpRemoteKey;
import org.openucx.jucx.ucp.UcpRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The reading side of a pull (NIXL READ): serves an agent's signed READ requests into its own registered regions,
 * answers each, and cancels a READ that outlives its serve deadline. Under the agent lock only.
 */
final class ReadServer {
    private static final Logger LOG = LoggerFactory.getLogger(ReadServer.class);

    private final NixlAgent agent;
    /** Shorter than the requester's deadline, so a READ is given up on here before the room fails there. */
    private final long serveDeadlineNanos;
    /** Answers being sent, with the buffers UCX reads them from. */
    private final List<Sending> replies = new ArrayList<>();
    /** READs this agent is serving (gets in flight into its memory), with when each began. */
    private final Map<Long, Serving> serving = new HashMap<>();
    private long nextServing;

    private record Serving(Peer peer, long startNanos) {
    }

    /** A send in flight and the buffer UCX reads it from (UcpRequest cannot be a map key: it may have no id). */
    private record Sending(UcpRequest request, ByteBuffer buffer) {
    }

    ReadServer(NixlAgent agent, long serveDeadlineNanos) {
        this.agent = agent;
        this.serveDeadlineNanos = serveDeadlineNanos;
    }

    /** A signed READ request, run as an agent task (not inside UCX's callback). */
    void serve(byte[] msg) {
        ReadMessages.Request r;
        try {
            r = ReadMessages.request(agent.secret(), agent.name(), msg);
        } catch (IOException | RuntimeException e) {
            agent.rejected();
            LOG.warn("nixl agent {}: dropped a READ request: {}", agent.name(), e.getMessage());
            return;
        }
        Peer p = agent.connections().peer(r.src());
        UcpMemory region = agent.registration(r.dstRegion());
        String refusal = region == null ? "no region '" + r.dstRegion() + "' registered" : null;
        for (int i = 0; refusal == null && i < r.lengths().length; i++) {
            if (r.dstOffsets()[i] + r.lengths()[i] > region.getLength() || r.dstOffsets()[i] + r.lengths()[i] < 0) {
                refusal = "descriptor " + i + " outside region '" + r.dstRegion() + "'";
            }
        }
        if (refusal != null) {
            reply(p, new ReadMessages.Done(r.id(), refusal));
            return;
        }
        UcpRemoteKey rkey = agent.connections().rkey(p, r.src().rkey());
        long key = ++nextServing;
        serving.put(key, new Serving(p, System.nanoTime()));
        for (int i = 0; i < r.lengths().length; i++) {
            p.endpoint.getNonBlockingImplicit(r.src().address() + r.srcOffsets()[i], rkey,
                    region.getAddress() + r.dstOffsets()[i], r.lengths()[i]);
        }
        p.endpoint.flushNonBlocking(new UcxCallback() {
            @Override
            public void onSuccess(UcpRequest request) {
                if (serving.remove(key) == null) {
                    return; // given up on (its connection was closed): the requester hears of it by its deadline
                }
                agent.logLanes(p);
                if (!r.notification().isEmpty()) {
                    agent.notifySelf(r.notification()); // the data is here: the room's notif, to ourselves
                }
                reply(p, new ReadMessages.Done(r.id(), ""));
            }

            @Override
            public void onError(int status, String message) {
                serving.remove(key);
                reply(p, new ReadMessages.Done(r.id(), "READ failed: UCX error " + status + ": " + message));
            }
        });
    }

    private void reply(Peer p, ReadMessages.Done d) {
        if (!agent.connections().connected(p)) {
            return; // the connection was dropped meanwhile
        }
        ByteBuffer b = Ucx.direct(ReadMessages.encode(agent.secret(), p.agent, d));
        try {
            replies.add(new Sending(p.endpoint.sendAmNonBlocking(NixlAgent.DONE_AM_ID, 0, 0, UcxUtils.getAddress(b),
                    b.remaining(), UcpConstants.UCP_AM_SEND_FLAG_EAGER, null), b));
        } catch (RuntimeException e) {
            LOG.warn("nixl agent {}: answering READ {} of {}: {}", agent.name(), d.id(), p.agent, e.toString());
        }
    }

    /**
     * A READ still running after its serve deadline is given up on and its connection closed, before the requester
     * (whose deadline is later) fails the room. Without UCX peer error handling the close flushes rather than
     * cancels: gets already posted to a peer that is stalled, not dead, may still complete if it resumes (the same
     * exposure as a frozen prefill's posted puts; the decode side's lease fencing bounds it, see the transfer README).
     */
    private void giveUpSlowReads() {
        long now = System.nanoTime();
        for (var it = serving.values().iterator(); it.hasNext(); ) {
            Serving sv = it.next();
            if (now - sv.startNanos() > serveDeadlineNanos) {
                it.remove();
                agent.dropPeer(sv.peer(), "a READ from agent " + sv.peer().agent + " took over "
                        + serveDeadlineNanos / 1_000_000 + " ms");
            }
        }
    }

    /** Each round of the agent's loop: forget sent answers, give up on slow READs. */
    void tick() {
        replies.removeIf(r -> r.request().isCompleted());
        if (!serving.isEmpty()) {
            giveUpSlowReads();
        }
    }

    /** Whether a READ is being served (its gets are in flight). */
    boolean serving() {
        return !serving.isEmpty();
    }

    void clear() {
        replies.clear();
        serving.clear();
    }
}
