package dev.tandem.transfer.nixl;

import org.openucx.jucx.ucp.UcpEndpoint;
import org.openucx.jucx.ucp.UcpRemoteKey;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** A connection to a peer agent (under the agent's lock only). */
final class Peer {
    final String agent;
    final UcpEndpoint endpoint;
    final Map<String, UcpRemoteKey> rkeys = new HashMap<>();
    final Set<Xfer> inflight = new LinkedHashSet<>();
    /** Whether the transports UCX chose for it were logged (once, after its first transfer completed). */
    boolean lanesLogged;

    Peer(String agent, UcpEndpoint endpoint) {
        this.agent = agent;
        this.endpoint = endpoint;
    }
}
