package dev.tandem.transfer;

import java.lang.foreign.MemorySegment;

/** One block of a batched one-sided write: {@code length} bytes from {@code src[srcOffset..]} to remote {@code dstOffset}. */
public record WriteOp(MemorySegment src, long srcOffset, long dstOffset, long length) {
    public WriteOp {
        if (length < 0 || srcOffset < 0 || dstOffset < 0 || srcOffset + length > src.byteSize()) {
            throw new IllegalArgumentException("bad write op: src " + srcOffset + "+" + length + " of "
                    + src.byteSize() + ", dst " + dstOffset);
        }
    }
}
