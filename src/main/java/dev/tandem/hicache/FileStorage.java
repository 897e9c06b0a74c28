package dev.tandem.hicache;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The {@code file} L3 backend: one file per key under a directory (NIXL's POSIX file plugin, one file per key),
 * shared by every worker that names the same directory. A page is written to a temporary name and renamed, so a
 * reader sees a whole file or none. Each file carries a header ({@code "THC1"}, the key, the payload length, the
 * payload's CRC32C); a file whose header, length or checksum does not match is a miss and is deleted. The total
 * size is bounded: storing past {@code maxBytes} deletes the least recently used files first. Other processes'
 * files join the accounting when this one first sees them, so with several writers the bound holds per process,
 * not across them. Durable by default: the temporary file is fsynced before the rename and the directory after it,
 * so a page this method reported stored survives a crash or a power cut; without fsync (a flag, for file systems
 * where it costs too much) such a page may be lost, which is a miss, and a torn one fails its checksum.
 */
public final class FileStorage implements HiCacheStorage {
    private static final Pattern KEY = Pattern.compile("[0-9a-f]{64}_[A-Za-z0-9.-]{1,120}");
    private static final String TMP = ".tmp";
    /** Temporary files older than this belong to a writer that died; younger ones may be in flight. */
    private static final long STALE_TMP_MS = 60_000;

    private final Path dir;
    private final long maxBytes;
    private final boolean fsync;
    private final Map<String, Long> index = new LinkedHashMap<>(16, 0.75f, true); // key -> file bytes, LRU first
    private long bytes;
    private final AtomicLong damaged = new AtomicLong();
    private final AtomicLong evicted = new AtomicLong();

    /** Opens (creating) {@code dir}; indexes the pages already there, oldest first. Writes are fsynced. */
    public FileStorage(Path dir, long maxBytes) {
        this(dir, maxBytes, true);
    }

    /** As above; {@code fsync} false skips the file's and the directory's fsync on each write. */
    public FileStorage(Path dir, long maxBytes, boolean fsync) {
        this.fsync = fsync;
        if (maxBytes < 1) {
            throw new IllegalArgumentException("storage size limit must be > 0, got " + maxBytes);
        }
        this.dir = dir;
        this.maxBytes = maxBytes;
        try {
            Files.createDirectories(dir);
            scan();
        } catch (IOException e) {
            throw new UncheckedIOException("hicache storage directory " + dir + ": " + e.getMessage(), e);
        }
        synchronized (this) {
            evictDownTo(maxBytes);
        }
    }

    private void scan() throws IOException {
        record Found(String key, long size, FileTime time) {
        }
        List<Found> found = new ArrayList<>();
        long now = System.currentTimeMillis();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                String name = f.getFileName().toString();
                try {
                    if (name.endsWith(TMP)) {
                        if (now - Files.getLastModifiedTime(f).toMillis() > STALE_TMP_MS) {
                            Files.deleteIfExists(f);
                        }
                    } else if (KEY.matcher(name).matches() && Files.isRegularFile(f)) {
                        found.add(new Found(name, Files.size(f), Files.getLastModifiedTime(f)));
                    }
                } catch (NoSuchFileException gone) {
                    // another worker removed it meanwhile
                }
            }
        }
        found.sort(Comparator.comparing(Found::time));
        synchronized (this) {
            for (Found f : found) {
                index.put(f.key(), f.size());
                bytes += f.size();
            }
        }
    }

    static void checkKey(String key) {
        if (key == null || !KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("storage key '" + key + "' is not <sha256 hex>_<layout suffix>");
        }
    }

    @Override
    public boolean get(String key, MemorySegment target) {
        checkKey(key);
        Path f = dir.resolve(key);
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        int hb = PageCodec.headerBytes(k);
        long size;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            size = ch.size();
            if (size != hb + target.byteSize()) {
                return damaged(key, f);
            }
            ByteBuffer h = ByteBuffer.allocate(hb);
            if (!readFully(ch, h, 0)) {
                return damaged(key, f);
            }
            Integer crc = PageCodec.checkHeader(h.flip(), k, target.byteSize());
            if (crc == null) {
                return damaged(key, f);
            }
            if (!readFully(ch, target.asByteBuffer(), hb) || PageCodec.crc(target) != crc) {
                return damaged(key, f);
            }
        } catch (NoSuchFileException e) {
            forget(key);
            return false;
        } catch (IOException e) {
            return false;
        }
        synchronized (this) {
            if (index.get(key) == null) { // another worker's page: count it from now on
                index.put(key, size);
                bytes += size;
                evictDownTo(maxBytes);
            }
        }
        return true;
    }

    private static boolean readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        long pos = at;
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) {
                return false;
            }
            pos += n;
        }
        return true;
    }

    /** A file that is not what we wrote: a miss, and it goes so nobody trips on it again. */
    private boolean damaged(String key, Path f) {
        damaged.incrementAndGet();
        try {
            Files.deleteIfExists(f);
        } catch (IOException ignored) {
            // a miss either way
        }
        forget(key);
        return false;
    }

    private synchronized void forget(String key) {
        Long s = index.remove(key);
        if (s != null) {
            bytes -= s;
        }
    }

    @Override
    public boolean set(String key, MemorySegment value) {
        checkKey(key);
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        long size = PageCodec.headerBytes(k) + value.byteSize();
        if (size > maxBytes) {
            return false;
        }
        ByteBuffer h = PageCodec.header(k, value);
        Path tmp = dir.resolve("." + key + "." + UUID.randomUUID().toString().substring(0, 8) + TMP);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer body = value.asByteBuffer();
                while (h.hasRemaining() || body.hasRemaining()) {
                    ch.write(new ByteBuffer[] {h, body});
                }
                if (fsync) {
                    ch.force(true); // the bytes are on disk before the name points at them
                }
            }
            synchronized (this) {
                evictDownTo(maxBytes - size);
                Files.move(tmp, dir.resolve(key), StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                Long old = index.put(key, size);
                bytes += size - (old == null ? 0 : old);
            }
            if (fsync) {
                syncDir(); // the rename itself survives a crash
            }
            return true;
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // nothing more to do
            }
            return false;
        }
    }

    /** Fsyncs the directory (its entries: the rename). */
    private void syncDir() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /** Deletes least recently used files until at most {@code limit} bytes are held. Caller holds the lock. */
    private void evictDownTo(long limit) {
        Iterator<Map.Entry<String, Long>> it = index.entrySet().iterator();
        while (bytes > limit && it.hasNext()) {
            Map.Entry<String, Long> e = it.next();
            try {
                Files.deleteIfExists(dir.resolve(e.getKey()));
            } catch (IOException ignored) {
                // gone from the accounting either way; a leftover is re-indexed by the next scan
            }
            bytes -= e.getValue();
            it.remove();
            evicted.incrementAndGet();
        }
    }

    @Override
    public boolean exists(String key) {
        checkKey(key);
        Path f = dir.resolve(key);
        if (Files.isRegularFile(f)) {
            return true;
        }
        forget(key);
        return false;
    }

    @Override
    public boolean delete(String key) {
        checkKey(key);
        forget(key);
        try {
            return Files.deleteIfExists(dir.resolve(key));
        } catch (IOException e) {
            return false;
        }
    }

    /** Deletes every page file (any worker's) and temporary file this directory holds. */
    @Override
    public void clear() {
        synchronized (this) {
            index.clear();
            bytes = 0;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                String name = f.getFileName().toString();
                if (KEY.matcher(name).matches() || name.endsWith(TMP)) {
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("clearing " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized Usage usage() {
        return new Usage(index.size(), bytes);
    }

    /** Files found damaged (and deleted) so far. */
    public long damaged() {
        return damaged.get();
    }

    /** Files deleted to stay under the size limit so far. */
    public long evicted() {
        return evicted.get();
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        // nothing held open between calls
    }
}
