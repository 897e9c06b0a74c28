package dev.tandem.transfer;

/**
 * NIXL's agent metadata for one registered region, as a peer needs it to write there with UCX: which agent owns it
 * and how to reach that agent (its UCX worker address), where the region starts in the owner's address space and
 * its packed remote key. Crosses the event bus inside a signed {@link SegmentDescriptor}; byte strings are base64
 * so the record compares by value.
 *
 * @param agent         the owning agent's name (unique per worker start): peers connect once per agent
 * @param workerAddress the agent's UCX worker address, base64
 * @param address       the region's base address in the owner's process
 * @param rkey          the region's packed UCX remote key, base64
 */
public record AgentMemory(String agent, String workerAddress, long address, String rkey) {
    public AgentMemory {
        if (agent == null || agent.isEmpty() || workerAddress == null || workerAddress.isEmpty() || rkey == null
                || rkey.isEmpty()) {
            throw new IllegalArgumentException("agent memory needs an agent name, a worker address and a remote key");
        }
    }
}
