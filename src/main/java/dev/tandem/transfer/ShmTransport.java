package dev.tandem.transfer;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Same-host transport: maps the peer's {@code /dev/shm} file once and copies into it, so a write is a memcpy.
 * Only a file that is exactly the one the peer registered is ever mapped (see {@link #check}): the registration is
 * signed on the event bus, so a member cannot make this process write through a symlink, into another file of its
 * user, or into a file swapped in after registration. Each mapping has its own arena, released by
 * {@link #forget} once the writes in flight on it are done; {@link #close()} releases them all.
 */
final class ShmTransport implements AutoCloseable {
    static final Path SHM_DIR = Path.of("/dev/shm");
    static final String PREFIX = "tandem-";
    private static final Set<PosixFilePermission> OWNER_RW = Set.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);

    /** A mapping is identified by the file's path and identity: a file replaced under the same name is another. */
    private record Key(String path, String fileId) {
    }

    /** One peer file's mapping; writes hold the read lock, so releasing (write lock) waits for them. */
    private static final class Mapping {
        final Arena arena = Arena.ofShared();
        final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        MemorySegment segment;
        boolean released;

        void release() {
            lock.writeLock().lock();
            try {
                if (!released) {
                    released = true;
                    arena.close();
                }
            } finally {
                lock.writeLock().unlock();
            }
        }
    }

    private final ConcurrentHashMap<Key, Mapping> mapped = new ConcurrentHashMap<>();
    private volatile boolean closed;

    void write(SegmentDescriptor remote, List<WriteOp> ops) throws IOException {
        Key key = new Key(remote.shmPath(), remote.fileId());
        for (int attempt = 0; attempt < 8; attempt++) { // a forget may race the lookup: map again
            Mapping m = mapped.get(key);
            if (m == null) {
                m = map(remote, key);
            }
            m.lock.readLock().lock();
            try {
                if (m.released) {
                    continue; // forgotten between lookup and lock (the file is checked again)
                }
                MemorySegment dst = m.segment;
                for (WriteOp op : ops) {
                    if (op.dstOffset() > dst.byteSize() || op.length() > dst.byteSize() - op.dstOffset()) {
                        throw new IOException("write [" + op.dstOffset() + ", +" + op.length()
                                + ") outside segment '" + remote.name() + "' of " + dst.byteSize() + " bytes");
                    }
                    MemorySegment.copy(op.src(), op.srcOffset(), dst, op.dstOffset(), op.length());
                }
                return;
            } finally {
                m.lock.readLock().unlock();
            }
        }
        throw new IOException("segment '" + remote.name() + "' was forgotten while writing to it");
    }

    private synchronized Mapping map(SegmentDescriptor remote, Key key) throws IOException {
        if (closed) {
            throw new IOException("transfer engine closed");
        }
        Mapping m = mapped.get(key);
        if (m != null) {
            return m;
        }
        Path p = check(remote);
        m = new Mapping();
        // O_NOFOLLOW: a symlink swapped in since the check fails here; the identity is checked again once open
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            if (!remote.fileId().equals(identity(p)) || ch.size() != remote.bytes()) {
                throw new IOException(p + " changed while being mapped");
            }
            m.segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, remote.bytes(), m.arena);
        } catch (IOException | RuntimeException e) {
            m.release();
            throw e;
        }
        mapped.put(key, m);
        return m;
    }

    /**
     * The rules a peer's file must meet before it is mapped: a regular file (not a symlink) directly under
     * {@code /dev/shm} with Tandem's prefix, owned by this process's user with mode 0600, of exactly the registered
     * size, and the very file the registration named (same device and inode). Returns its path.
     */
    static Path check(SegmentDescriptor remote) throws IOException {
        String refused = "refusing to map segment '" + remote.name() + "': ";
        if (remote.shmPath() == null) {
            throw new IOException(refused + "it is not file-backed");
        }
        if (remote.fileId() == null) {
            throw new IOException(refused + "its registration carries no file identity");
        }
        Path p = Path.of(remote.shmPath());
        String name = p.getFileName() == null ? "" : p.getFileName().toString();
        if (!p.isAbsolute() || !p.equals(p.normalize()) || !SHM_DIR.equals(p.getParent())
                || !name.startsWith(PREFIX) || name.endsWith(".lock")) {
            throw new IOException(refused + p + " is not a Tandem file directly under " + SHM_DIR);
        }
        if (!p.getParent().toRealPath().equals(SHM_DIR.toRealPath())) {
            throw new IOException(refused + SHM_DIR + " is not a real directory");
        }
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile()) {
            throw new IOException(refused + p + " is not a regular file" + (a.isSymbolicLink() ? " (a symlink)" : ""));
        }
        Object uid = Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (!Objects.equals(uid, (int) Me.UID)) {
            throw new IOException(refused + p + " belongs to uid " + uid + ", not to this process's uid " + Me.UID);
        }
        if (!a.permissions().equals(OWNER_RW)) {
            throw new IOException(refused + p + " has mode "
                    + java.nio.file.attribute.PosixFilePermissions.toString(a.permissions()) + ", not rw-------");
        }
        if (a.size() != remote.bytes()) {
            throw new IOException(refused + p + " holds " + a.size() + " bytes, the registration says "
                    + remote.bytes());
        }
        String id = identity(p);
        if (!id.equals(remote.fileId())) {
            throw new IOException(refused + p + " is file " + id + ", the registration named file "
                    + remote.fileId() + " (replaced since)");
        }
        return p;
    }

    /** A file's identity on this host: device and inode, as registrations carry it. */
    static String identity(Path p) throws IOException {
        Object dev = Files.getAttribute(p, "unix:dev", LinkOption.NOFOLLOW_LINKS);
        Object ino = Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
        return dev + ":" + ino;
    }

    /** This process's uid, read once. */
    private static final class Me {
        static final long UID = new com.sun.security.auth.module.UnixSystem().getUid();
    }

    /** Releases the mapping of {@code remote}'s file (the peer went away or was replaced); waits for its writes. */
    void forget(SegmentDescriptor remote) {
        if (remote.shmPath() == null) {
            return;
        }
        Mapping m = mapped.remove(new Key(remote.shmPath(), remote.fileId()));
        if (m != null) {
            m.release();
        }
    }

    /** How many peer files are mapped now. */
    int liveMappings() {
        return mapped.size();
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (Key k : List.copyOf(mapped.keySet())) {
            Mapping m = mapped.remove(k);
            if (m != null) {
                m.release();
            }
        }
    }
}
