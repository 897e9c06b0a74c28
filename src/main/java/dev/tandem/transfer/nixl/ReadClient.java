package dev.tandem.transfer.nixl;

import dev.tandem.transfer.AgentMemory;
import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The requesting side of a pull (NIXL READ, vLLM's choreography): sends a signed READ request to the reader's agent
 * and completes the transfer on the reader's signed answer ({@link ReadServer} is the other side). Under the agent
 * lock only.
 */
final class ReadClient {
    private static final Logger LOG = LoggerFactory.getLogger(ReadClient.class);

    private final NixlAgent agent;
    private final Map<Long, Xfer> pending = new HashMap<>();
    private long nextId;

    ReadClient(NixlAgent agent) {
        this.agent = agent;
    }

    /** Sends the request of transfer {@code x} to {@code p}, the reader's connection; see {@link NixlAgent#askToRead}. */
    void post(Peer p, Xfer x, AgentMemory reader, String readerRegion, AgentMemory src, long[] srcOffsets,
              long[] dstOffsets, long[] lengths, String notification) {
        long id = ++nextId;
        pending.put(id, x);
        Runnable counted = x.cleanup;
        x.cleanup = () -> {
            pending.remove(id);
            counted.run();
        };
        x.header = Ucx.direct(ReadMessages.encode(agent.secret(), reader.agent(), new ReadMessages.Request(id,
                notification == null ? "" : notification, readerRegion, src, srcOffsets, dstOffsets, lengths)));
        p.endpoint.sendAmNonBlocking(NixlAgent.READ_AM_ID, 0, 0, UcxUtils.getAddress(x.header), x.header.remaining(),
                UcpConstants.UCP_AM_SEND_FLAG_EAGER, NixlAgent.callback(x, sent -> { })); // DONE comes with the answer
    }

    /** The reader's answer: the transfer is DONE, or ERR with the reader's reason. */
    void onDone(byte[] msg) {
        ReadMessages.Done d;
        try {
            d = ReadMessages.done(agent.secret(), agent.name(), msg);
        } catch (IOException | RuntimeException e) {
            agent.rejected();
            LOG.warn("nixl agent {}: dropped a READ answer: {}", agent.name(), e.getMessage());
            return;
        }
        Xfer x = pending.get(d.id());
        if (x == null) {
            return; // failed or aborted meanwhile
        }
        if (d.error().isEmpty()) {
            x.succeed();
        } else {
            x.fail("READ by agent " + x.peer.agent + ": " + d.error());
        }
    }
}
