/**
 * The {@code nixl} KV transfer backend over UCX (jucx on the system's UCX), with NIXL's programming model: an
 * {@link dev.tandem.transfer.nixl.NixlAgent} per worker owns a UCX context and worker, its memory registrations and
 * its connections to peer agents; agent metadata (worker address, remote keys) travels in the signed KV-args
 * registration as {@link dev.tandem.transfer.AgentMemory}; a transfer is a descriptor list posted as one-sided puts,
 * then, after a flush, a notification {@code "{room}_kv_{chunk}_{last}"} / {@code "{room}_aux"} as a UCX active
 * message signed with the cluster secret; with {@code --nixl-mode pull} the decode agent instead READs the list out
 * of the prefill's registered memory when a signed request tells it to ({@link dev.tandem.transfer.nixl.ReadMessages}). {@link dev.tandem.transfer.nixl.NixlTransferEngine} puts it behind the
 * transfer SPI, so timeouts, heartbeat and abort are the managers' as for mooncake. {@link
 * dev.tandem.transfer.nixl.Ucx} probes the native libraries once; {@link dev.tandem.transfer.nixl.Live} counts
 * native objects for tests. Inside: {@code Driver} (who drives the UCX worker: the thread that posts a transfer drives
 * it to its end itself, sleeping on UCX's event fd while it waits for a peer's answer; the agent's thread serves peers
 * and sleeps on the same fd when idle), {@code Connections}
 * (endpoints and remote keys per peer agent, UCX's own choice
 * of transport), {@code SignedNotifs} (the notification's signed wire form), {@code ReadClient}/{@code ReadServer}
 * (the two sides of a READ), {@code UcxLanes} (which transports an endpoint uses, and which lane a put to a given
 * remote key takes, as UCX reports it), {@code Memories} (an agent's registrations and the memory its UCX allocated)
 * and {@code UcxKvMemory} (the engine's {@link dev.tandem.kvcache.KvMemory}: the KV pool and aux rows in memory UCX
 * allocated, so a same-host put or get is a plain copy through sysv/posix rather than emulated with messages).
 */
package dev.tandem.transfer.nixl;
