package dev.tandem.transfer;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Same-host transport: maps the peer's {@code /dev/shm} file once and copies into it, so a write is a memcpy.
 * Owns its mappings; {@link #close()} unmaps them.
 */
final class ShmTransport implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final ConcurrentHashMap<String, MemorySegment> mapped = new ConcurrentHashMap<>();

    void write(SegmentDescriptor remote, List<WriteOp> ops) throws IOException {
        MemorySegment dst = mapped.get(remote.shmPath());
        if (dst == null) {
            dst = map(remote);
        }
        for (WriteOp op : ops) {
            if (op.dstOffset() + op.length() > dst.byteSize()) {
                throw new IOException("write [" + op.dstOffset() + ", +" + op.length() + ") outside segment '"
                        + remote.name() + "' of " + dst.byteSize() + " bytes");
            }
            MemorySegment.copy(op.src(), op.srcOffset(), dst, op.dstOffset(), op.length());
        }
    }

    private synchronized MemorySegment map(SegmentDescriptor remote) throws IOException {
        MemorySegment m = mapped.get(remote.shmPath());
        if (m != null) {
            return m;
        }
        try (FileChannel ch = FileChannel.open(Path.of(remote.shmPath()), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            if (ch.size() < remote.bytes()) {
                throw new IOException(remote.shmPath() + " holds " + ch.size() + " bytes, segment '" + remote.name()
                        + "' says " + remote.bytes());
            }
            m = ch.map(FileChannel.MapMode.READ_WRITE, 0, remote.bytes(), arena);
        }
        mapped.put(remote.shmPath(), m);
        return m;
    }

    /** Drops the mapping of a peer that went away (its file is gone or replaced). */
    void forget(SegmentDescriptor remote) {
        if (remote.shmPath() != null) {
            mapped.remove(remote.shmPath());
        }
    }

    @Override
    public void close() {
        mapped.clear();
        arena.close();
    }
}
