package dev.tandem.transfer;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiFunction;

/**
 * A transfer engine whose writes do what the test says (record them, block on a peer that stopped reading, fail):
 * for tests of the sender side that need no real transport. Registration is not supported.
 */
public final class ScriptedTransferEngine implements TransferEngine {
    private final BiFunction<SegmentDescriptor, List<WriteOp>, Integer> write;
    private final Runnable onClose;

    /** @param write what {@link #batchWrite} does: 0 for success, negative for a failure */
    public ScriptedTransferEngine(BiFunction<SegmentDescriptor, List<WriteOp>, Integer> write, Runnable onClose) {
        this.write = write;
        this.onClose = onClose;
    }

    @Override
    public SegmentDescriptor register(String name, MemorySegment segment, Path backingFile) {
        throw new UnsupportedOperationException("a scripted engine registers nothing");
    }

    @Override
    public int batchWrite(SegmentDescriptor remote, List<WriteOp> ops) {
        return write.apply(remote, ops);
    }

    @Override
    public String transportFor(SegmentDescriptor remote) {
        return "scripted";
    }

    @Override
    public String lastError() {
        return "scripted write failed";
    }

    @Override
    public void close() {
        onClose.run();
    }
}
