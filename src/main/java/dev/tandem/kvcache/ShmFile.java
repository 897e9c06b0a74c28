package dev.tandem.kvcache;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A zero-filled file under {@code /dev/shm} mapped read-write, created with mode 0600 (only this user may map it).
 * Owns the mapping, the file and an OS lock that says the file is alive: a sidecar {@code <file>.lock} locked
 * ({@code fcntl}) for the file's whole life. The lock dies with the process however it dies, so
 * {@link #removeStale()} deletes exactly the files whose owner is gone, never a live one, whatever pids are reused.
 *
 * <p>Why a sidecar rather than a lock on the file itself: POSIX record locks belong to the process, and closing
 * any descriptor of the file releases them; a peer in the same JVM maps the data file (open, map, close), which
 * would silently unlock it. Only this class opens lock files, and {@link #removeStale()} never opens one this
 * process holds. (Nothing else in the process may open one either, not even to set its times.)
 */
public final class ShmFile implements AutoCloseable {
    public static final Path DIR = Path.of("/dev/shm");
    public static final String PREFIX = "tandem-";
    static final String LOCK_SUFFIX = ".lock";
    /** A lock file younger than this is never swept: its owner may be between creating and locking it. */
    private static final Duration MIN_STALE_AGE = Duration.ofSeconds(10);
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The lock files this process holds: {@link #removeStale()} must not open them (see the class comment). */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path path;
    private final Path lockPath;
    private final FileChannel lockChannel;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;

    /** Creates {@code path} (which must not exist) with {@code bytes} zero bytes, locked and mapped. */
    public ShmFile(Path path, long bytes) {
        this.path = path;
        this.lockPath = lockPathOf(path);
        HELD.add(lockPath); // before the file exists, so this process's sweeper never opens it
        FileChannel lockCh = null;
        boolean dataCreated = false;
        try {
            lockCh = FileChannel.open(lockPath, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), OWNER_ONLY);
            Object created = fileKey(lockPath);
            FileLock lock = lockWithin(lockCh, Duration.ofSeconds(5)); // busy only while a sweeper looks at it
            if (lock == null || !Objects.equals(created, fileKey(lockPath))) {
                throw new IOException("its lock file " + lockPath + " was held or removed while being created");
            }
            try (FileChannel ch = FileChannel.open(path, Set.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), OWNER_ONLY)) {
                dataCreated = true;
                ch.truncate(bytes);
                segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            }
            this.lockChannel = lockCh;
        } catch (IOException | RuntimeException e) {
            arena.close();
            deleteQuietly(dataCreated ? path : null);
            if (lockCh != null) {
                deleteQuietly(lockPath);
                closeQuietly(lockCh);
            }
            HELD.remove(lockPath);
            throw new UncheckedIOException("cannot create shared memory file " + path + " (" + e + ")",
                    e instanceof IOException io ? io : new IOException(e));
        }
    }

    /**
     * A fresh, unguessable name under {@code /dev/shm} for {@code owner} (sanitized) and {@code kind}: 128 random
     * bits, so no other user can create the name first or predict it. Sweeps stale files first.
     */
    public static Path fresh(String owner, String kind) {
        removeStale();
        String o = owner.replaceAll("[^A-Za-z0-9._]", "_");
        byte[] random = new byte[16];
        RANDOM.nextBytes(random);
        return DIR.resolve(PREFIX + o.substring(0, Math.min(o.length(), 64)) + "-" + kind + "-"
                + HexFormat.of().formatHex(random));
    }

    /**
     * Deletes Tandem's {@code /dev/shm} files whose owner is gone: for each {@code tandem-*.lock} this process does
     * not hold, older than a few seconds, whose lock can be taken, the data file and then the lock file. A file
     * whose owner is alive (it holds the lock) is kept; files of other users are not ours to open. Returns how many
     * files were removed.
     */
    public static int removeStale() {
        return removeStale(MIN_STALE_AGE);
    }

    /** As {@link #removeStale()}, sweeping lock files older than {@code minAge} (tests sweep at once). */
    public static int removeStale(Duration minAge) {
        int removed = 0;
        try (var files = Files.list(DIR)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (name.startsWith(PREFIX) && name.endsWith(LOCK_SUFFIX) && !HELD.contains(f)
                        && removeIfStale(f, minAge)) {
                    removed++;
                }
            }
        } catch (IOException ignored) {
            // no /dev/shm: nothing to clean
        }
        return removed;
    }

    private static boolean removeIfStale(Path lockFile, Duration minAge) {
        try {
            BasicFileAttributes a = Files.readAttributes(lockFile, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile() || a.lastModifiedTime().toInstant().plus(minAge)
                    .isAfter(java.time.Instant.now())) {
                return false;
            }
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                FileLock lock = ch.tryLock();
                if (lock == null) {
                    return false; // its owner is alive
                }
                Path data = lockFile.resolveSibling(lockFile.getFileName().toString()
                        .substring(0, lockFile.getFileName().toString().length() - LOCK_SUFFIX.length()));
                Files.deleteIfExists(data); // data first: a data file never outlives its lock file
                Files.deleteIfExists(lockFile);
                return true;
            }
        } catch (OverlappingFileLockException | IOException notOursOrGone) {
            return false; // another user's file, held in this JVM, or already removed
        }
    }

    private static FileLock lockWithin(FileChannel ch, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            FileLock lock = ch.tryLock();
            if (lock != null || System.nanoTime() > deadline) {
                return lock;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while locking " + ch);
            }
        }
    }

    static Path lockPathOf(Path data) {
        return data.resolveSibling(data.getFileName() + LOCK_SUFFIX);
    }

    private static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    public Path path() {
        return path;
    }

    public MemorySegment segment() {
        return segment;
    }

    /** Unmaps, deletes the file, then its lock file, and only then gives up the lock. */
    @Override
    public synchronized void close() {
        if (!lockChannel.isOpen()) {
            return;
        }
        arena.close();
        deleteQuietly(path);
        deleteQuietly(lockPath);
        closeQuietly(lockChannel);
        HELD.remove(lockPath);
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (NoSuchFileException ignored) {
            // gone already
        } catch (IOException ignored) {
            // gone with the machine's next boot at the latest
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
