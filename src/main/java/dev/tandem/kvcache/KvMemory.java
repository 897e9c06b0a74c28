package dev.tandem.kvcache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Where a KV pool's (and the aux rows') bytes come from, chosen once at start-up: this process's native memory, a
 * {@code /dev/shm} file a peer on this host maps (mooncake's shm transport), or memory a transfer backend allocates
 * itself so that its peers reach it best (nixl: UCX allocates it, so UCX's shared-memory transports hold remote keys
 * for it and a same-host put is a plain copy). Each {@link Block} is owned by whoever allocated it and freed through
 * the allocator that made it.
 */
public interface KvMemory {
    /** Zero-filled native memory of {@code bytes}, aligned to at least 64 bytes, until the block is closed. */
    Block allocate(long bytes);

    /** One allocation and how to give it back. */
    interface Block extends AutoCloseable {
        /** The memory; invalid once the block is closed. */
        MemorySegment segment();

        /** The {@code /dev/shm} file the memory maps, that a peer on this host may map too, or null. */
        default Path file() {
            return null;
        }

        /** Frees the memory (idempotent). */
        @Override
        void close();
    }

    /** This process's own native memory (an FFM shared arena, closed with the block). */
    KvMemory NATIVE = bytes -> {
        Arena arena = Arena.ofShared();
        MemorySegment s = arena.allocate(bytes, 64);
        return block(s, null, arena::close);
    };

    /** The file {@code path} under {@code /dev/shm} ({@link ShmFile}: created, sized, mapped; deleted on close). */
    static KvMemory shmFile(Path path) {
        return bytes -> {
            ShmFile f = new ShmFile(path, bytes);
            return block(f.segment(), f.path(), f::close);
        };
    }

    /** A block over {@code segment} (backed by {@code file}, or null) that {@code free} gives back, once. */
    static Block block(MemorySegment segment, Path file, Runnable free) {
        return new Block() {
            private boolean closed;

            @Override
            public MemorySegment segment() {
                return segment;
            }

            @Override
            public Path file() {
                return file;
            }

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    free.run();
                }
            }
        };
    }
}
