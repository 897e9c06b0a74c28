package dev.tandem.transfer;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * SGLang's {@code fake} backend as a transfer engine: the handshake runs as usual but no byte moves, and every
 * write "succeeds". For warm-up, protocol tests and measuring everything but the copy; the decode side then
 * decodes from whatever its pages held.
 */
public final class FakeTransferEngine implements TransferEngine {
    @Override
    public SegmentDescriptor register(String name, MemorySegment segment, Path backingFile) {
        return new SegmentDescriptor(name, "fake", null, "fake", 0, segment.byteSize());
    }

    @Override
    public int batchWrite(SegmentDescriptor remote, List<WriteOp> ops) {
        return 0;
    }

    @Override
    public String transportFor(SegmentDescriptor remote) {
        return "fake";
    }

    @Override
    public String lastError() {
        return "";
    }

    @Override
    public void close() {
    }
}
