/**
 * KV transfer, pure (no Vert.x): SGLang's {@link dev.tandem.transfer.KvPoll} status order and merge rule, and a
 * transfer engine with Mooncake's semantics ({@link dev.tandem.transfer.MooncakeTransferEngine}: registered segments,
 * batched synchronous one-sided writes) over two transports, {@code shm} (the peer's KV pool is a {@code /dev/shm}
 * file; a write is a memcpy) and {@code tcp} (NIO gathered writes read straight into the peer's segment).
 * {@link dev.tandem.transfer.PageCopyPlan} turns page lists into write ops. The bootstrap handshake, senders and
 * receivers come with the prefill and decode workers. On the prefill side, {@link dev.tandem.transfer.KvSenderManager}
 * owns the rooms and their states, {@code SendLanes} the push threads (a lane per decode worker) and {@code KvPusher}
 * the writes of one chunk under the peer's lease. See README.md in this folder for the wire format.
 *
 * <p>Trust: a TCP connection carries KV only after both ends proved the cluster secret (HMAC challenge–response,
 * {@code TcpWireFormat}); the server bounds every length it reads, holds its connections and threads under
 * {@code TcpLimits}, and drops and counts a misbehaving peer ({@link dev.tandem.transfer.TcpRejection}). The shm
 * transport maps only the exact file a (signed) registration names: a private Tandem file directly under
 * {@code /dev/shm} with the registered identity and size ({@link dev.tandem.transfer.SegmentDescriptor#fileId()});
 * {@link dev.tandem.transfer.TransferEngine#forgetPeer} releases a peer's mapping. Every network wait has a deadline.
 */
package dev.tandem.transfer;
