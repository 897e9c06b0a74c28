package dev.tandem.transfer;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * The transfer SPI, one implementation per backend ({@link TransferEngines}): Mooncake's contract, segments are registered once, then peers write into them with batched
 * one-sided writes. {@code batchWrite} is synchronous and returns 0, or a negative code after a failure (the
 * message is logged by the engine and given by {@link #lastError()}).
 */
public interface TransferEngine extends AutoCloseable {

    /**
     * Registers {@code segment} under {@code name} so peers can write into it.
     *
     * @param backingFile the {@code /dev/shm} file the segment maps, or null (then peers must use TCP)
     */
    SegmentDescriptor register(String name, MemorySegment segment, Path backingFile);

    /** Writes every op into {@code remote}; 0 on success, negative on failure. */
    int batchWrite(SegmentDescriptor remote, List<WriteOp> ops);

    /**
     * Writes every op into {@code remote}, then, once the data is in the peer's memory, delivers
     * {@code notification} to the peer (NIXL's notif: {@code "{room}_kv_{chunk}_{last}"}, {@code "{room}_aux"}).
     * Backends without notifications (mooncake, fake) only write, and skip an empty batch; the nixl backend sends
     * the notification even for an empty one (a last chunk may carry no page). 0 on success, negative on failure.
     */
    default int batchWrite(SegmentDescriptor remote, List<WriteOp> ops, String notification) {
        return ops.isEmpty() ? 0 : batchWrite(remote, ops);
    }

    /**
     * Refuses a peer registration this engine cannot write to (another backend's), with a message naming both
     * backends; called when a decode worker registers.
     */
    default void accept(SegmentDescriptor remote) {
    }

    /**
     * For backends whose peers notify delivery (nixl): {@code listener} hears each room whose KV chunks and aux row
     * all landed in this worker's memory. Other backends never call it (their sender reports over the bus).
     */
    default void onDelivered(java.util.function.LongConsumer listener) {
    }

    /**
     * The memory this backend wants the KV pool and aux rows in, so that peers reach them best (nixl: memory UCX
     * allocated), or null: the process's own memory, or the {@code /dev/shm} file the worker maps for mooncake.
     * Blocks from it are freed through it, and must be closed before this engine.
     */
    default dev.tandem.kvcache.KvMemory kvMemory() {
        return null;
    }

    /** Which transport {@code batchWrite} uses for {@code remote}: "shm" or "tcp". */
    String transportFor(SegmentDescriptor remote);

    String lastError();

    /**
     * Forgets a peer's segment that went away or was replaced: releases what this engine holds for it (a mapping
     * of its file, a connection to its server). A later write to it starts afresh.
     */
    default void forgetPeer(SegmentDescriptor remote) {
    }

    @Override
    void close();
}
