package dev.tandem.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A zero-filled file under {@code /dev/shm} mapped read-write; owns the mapping and deletes the file on close. */
public final class ShmFile implements AutoCloseable {
    private final Path path;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;

    public ShmFile(Path path, long bytes) {
        this.path = path;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.truncate(bytes);
            segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException("cannot create shared memory file " + path + " (" + e.getMessage() + ")", e);
        }
    }

    /** A fresh name under {@code /dev/shm} for {@code owner} (sanitized) and {@code kind}. */
    public static Path fresh(String owner, String kind) {
        return Path.of("/dev/shm", "tandem-" + owner.replaceAll("[^A-Za-z0-9._-]", "_") + "-" + kind + "-"
                + java.util.UUID.randomUUID().toString().substring(0, 8));
    }

    public Path path() {
        return path;
    }

    public MemorySegment segment() {
        return segment;
    }

    @Override
    public void close() {
        arena.close();
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // gone with the machine's next boot at the latest
        }
    }
}
