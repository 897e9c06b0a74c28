package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A transfer engine with Mooncake's semantics (registered segments, batched synchronous one-sided writes) over two
 * transports: {@code shm} (the peer's segment is a file under {@code /dev/shm}; a write is a memcpy) and {@code tcp}
 * (NIO gathered writes read straight into the peer's segment). With {@code auto}, shared memory is used when the
 * peer is on this host and its file is visible, TCP otherwise.
 */
public final class MooncakeTransferEngine implements TransferEngine {
    /** Which transport to use for writes. */
    public enum Mode { AUTO, SHM, TCP }

    private final Mode mode;
    private final String host;
    private final ConcurrentHashMap<String, MemorySegment> registered = new ConcurrentHashMap<>();
    private final TcpWriteServer server;
    private final ShmTransport shm = new ShmTransport();
    private final TcpTransport tcp = new TcpTransport();
    private volatile String lastError = "";

    private final ClusterSecret secret;

    /**
     * @param host   the address this engine's TCP server binds and advertises (loopback in tests)
     * @param secret the cluster secret TCP peers must prove they hold
     */
    public MooncakeTransferEngine(Mode mode, String host, ClusterSecret secret) {
        this.mode = mode;
        this.host = host;
        this.secret = secret;
        try {
            this.server = new TcpWriteServer(host, registered);
        } catch (IOException e) {
            throw new UncheckedIOException("transfer engine: cannot bind a TCP server on " + host, e);
        }
    }

    public static Mode parseMode(String s) {
        try {
            return Mode.valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("transfer transport '" + s + "' (choose auto, shm or tcp)");
        }
    }

    @Override
    public SegmentDescriptor register(String name, MemorySegment segment, Path backingFile) {
        if (registered.putIfAbsent(name, segment) != null) {
            throw new IllegalStateException("segment '" + name + "' is already registered");
        }
        return new SegmentDescriptor(name, HostId.get(), backingFile == null ? null : backingFile.toString(), host,
                server.port(), segment.byteSize());
    }

    public void unregister(String name) {
        registered.remove(name);
    }

    @Override
    public String transportFor(SegmentDescriptor remote) {
        boolean shmPossible = remote.shmPath() != null && HostId.get().equals(remote.hostId())
                && Files.isRegularFile(Path.of(remote.shmPath()));
        return switch (mode) {
            case SHM -> "shm";
            case TCP -> "tcp";
            case AUTO -> shmPossible ? "shm" : "tcp";
        };
    }

    @Override
    public int batchWrite(SegmentDescriptor remote, List<WriteOp> ops) {
        String transport = transportFor(remote);
        try {
            if (transport.equals("shm")) {
                if (remote.shmPath() == null) {
                    throw new IOException("segment '" + remote.name() + "' is not file-backed; shm impossible");
                }
                shm.write(remote, ops);
            } else {
                tcp.write(remote, ops);
            }
            return 0;
        } catch (IOException | RuntimeException e) {
            lastError = transport + " write to '" + remote.name() + "' failed: " + e.getMessage();
            shm.forget(remote);
            return -1;
        }
    }

    @Override
    public String lastError() {
        return lastError;
    }

    @Override
    public void close() {
        server.close();
        tcp.close();
        shm.close();
        registered.clear();
    }
}
