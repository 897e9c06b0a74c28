package dev.tandem.kvcache;

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

    private static final String PREFIX = "tandem-";

    /**
     * A fresh name under {@code /dev/shm} for {@code owner} (sanitized) and {@code kind}, carrying this process's
     * pid so that files of processes that died without cleaning up can be recognised and removed
     * ({@link #removeStale()}).
     */
    public static Path fresh(String owner, String kind) {
        removeStale();
        return Path.of("/dev/shm", PREFIX + ProcessHandle.current().pid() + "-"
                + owner.replaceAll("[^A-Za-z0-9._-]", "_") + "-" + kind + "-"
                + java.util.UUID.randomUUID().toString().substring(0, 8));
    }

    /** Deletes Tandem's {@code /dev/shm} files whose owning process no longer exists (killed workers). */
    public static void removeStale() {
        try (var files = Files.list(Path.of("/dev/shm"))) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (!name.startsWith(PREFIX)) {
                    continue;
                }
                String[] parts = name.substring(PREFIX.length()).split("-", 2);
                try {
                    long pid = Long.parseLong(parts[0]);
                    if (ProcessHandle.of(pid).isEmpty()) {
                        Files.deleteIfExists(f);
                    }
                } catch (NumberFormatException | IOException ignored) {
                    // not ours, or already gone
                }
            }
        } catch (IOException ignored) {
            // no /dev/shm: nothing to clean
        }
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
