/**
 * KV transfer, pure (no Vert.x): SGLang's {@link dev.tandem.transfer.KvPoll} status order and merge rule, and a
 * transfer engine with Mooncake's semantics ({@link dev.tandem.transfer.MooncakeTransferEngine}: registered segments,
 * batched synchronous one-sided writes) over two transports, {@code shm} (the peer's KV pool is a {@code /dev/shm}
 * file; a write is a memcpy) and {@code tcp} (NIO gathered writes read straight into the peer's segment).
 * {@link dev.tandem.transfer.PageCopyPlan} turns page lists into write ops. The bootstrap handshake, senders and
 * receivers come with the prefill and decode workers. See README.md in this folder for the wire format.
 */
package dev.tandem.transfer;
