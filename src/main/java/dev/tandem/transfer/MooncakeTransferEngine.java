package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A transfer engine with Mooncake's semantics (registered segments, batched synchronous one-sided writes) over two
 * transports: {@code shm} (the peer's segment is a file under {@code /dev/shm}; a write is a memcpy) and {@code tcp}
 * (NIO gathered writes read straight into the peer's segment, on connections authenticated with the cluster
 * secret). With {@code auto}, shared memory is used when the peer is on this host and its registration names a file
 * this process may map, TCP otherwise.
 */
public final class MooncakeTransferEngine implements TransferEngine {
    /** Which transport to use for writes. */
    public enum Mode { AUTO, SHM, TCP }

    private final Mode mode;
    private final String host;
    private final ConcurrentHashMap<String, MemorySegment> registered = new ConcurrentHashMap<>();
    private final TcpWriteServer server;
    private final ShmTransport shm = new ShmTransport();
    private final TcpTransport tcp;
    private volatile String lastError = "";

    /**
     * @param host   the address this engine's TCP server binds and advertises (loopback in tests)
     * @param secret the cluster secret TCP peers must prove they hold (and this engine proves to them)
     */
    public MooncakeTransferEngine(Mode mode, String host, ClusterSecret secret) {
        this(mode, host, secret, TcpRejection.Listener.NONE);
    }

    /** @param rejections told of each TCP peer the server drops (the worker counts them as a metric) */
    public MooncakeTransferEngine(Mode mode, String host, ClusterSecret secret, TcpRejection.Listener rejections) {
        this(mode, host, secret, rejections, TcpLimits.DEFAULT);
    }

    MooncakeTransferEngine(Mode mode, String host, ClusterSecret secret, TcpRejection.Listener rejections,
                           TcpLimits limits) {
        this(mode, host, host, secret, rejections, limits);
    }

    /**
     * @param bindHost      where the TCP writer listens (may be a wildcard: every interface)
     * @param advertiseHost the address registrations carry, so peers can reach the writer
     */
    public MooncakeTransferEngine(Mode mode, String bindHost, String advertiseHost, ClusterSecret secret,
                                  TcpRejection.Listener rejections) {
        this(mode, bindHost, advertiseHost, secret, rejections, TcpLimits.DEFAULT);
    }

    MooncakeTransferEngine(Mode mode, String bindHost, String advertiseHost, ClusterSecret secret,
                           TcpRejection.Listener rejections, TcpLimits limits) {
        this.mode = mode;
        this.host = advertiseHost;
        String host = bindHost;
        this.tcp = new TcpTransport(secret, limits);
        try {
            this.server = new TcpWriteServer(host, registered, secret, limits, rejections);
        } catch (IOException e) {
            throw new UncheckedIOException("transfer engine: cannot bind a TCP server on " + host, e);
        }
        // the fingerprint lets an operator see at a glance whether two members share a secret
        org.slf4j.LoggerFactory.getLogger(MooncakeTransferEngine.class).info(
                "KV transfer ({}): TCP writer on {}:{}, cluster secret fingerprint {}", mode.name().toLowerCase(
                        Locale.ROOT), advertiseHost, server.port(), secret.fingerprint());
    }

    public static Mode parseMode(String s) {
        try {
            return Mode.valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("transfer transport '" + s + "' (choose auto, shm or tcp)");
        }
    }

    /** Registers the segment; a file-backed one is described with the file's identity, which peers check. */
    @Override
    public SegmentDescriptor register(String name, MemorySegment segment, Path backingFile) {
        int nameBytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (nameBytes < 1 || nameBytes > TcpWireFormat.MAX_NAME_BYTES) {
            throw new IllegalArgumentException("segment name '" + name + "': " + nameBytes + " bytes (1.."
                    + TcpWireFormat.MAX_NAME_BYTES + ")");
        }
        String fileId = null;
        if (backingFile != null) {
            try {
                fileId = ShmTransport.identity(backingFile);
            } catch (IOException | UnsupportedOperationException e) {
                throw new IllegalArgumentException("segment '" + name + "': cannot read the identity of "
                        + backingFile + " (" + e.getMessage() + ")", e);
            }
        }
        if (registered.putIfAbsent(name, segment) != null) {
            throw new IllegalStateException("segment '" + name + "' is already registered");
        }
        return new SegmentDescriptor(name, HostId.get(), backingFile == null ? null : backingFile.toString(), host,
                server.port(), segment.byteSize(), fileId);
    }

    public void unregister(String name) {
        registered.remove(name);
    }

    @Override
    public String transportFor(SegmentDescriptor remote) {
        boolean shmPossible = remote.shmPath() != null && remote.fileId() != null
                && HostId.get().equals(remote.hostId())
                && Files.isRegularFile(Path.of(remote.shmPath()), LinkOption.NOFOLLOW_LINKS)
                && Files.isWritable(Path.of(remote.shmPath()));
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
    public void accept(SegmentDescriptor remote) {
        if (remote.nixl() != null) {
            throw new IllegalArgumentException("transfer backend mismatch: segment '" + remote.name() + "' is "
                    + "registered with transfer backend nixl, this worker uses mooncake (start both workers with the "
                    + "same --transfer-backend)");
        }
    }

    @Override
    public void forgetPeer(SegmentDescriptor remote) {
        shm.forget(remote);
        tcp.forget(remote);
    }

    /** How many peer files this engine has mapped now (each is released by {@link #forgetPeer}). */
    public int liveShmMappings() {
        return shm.liveMappings();
    }

    /** This engine's TCP server, for tests that watch its bounds. */
    TcpWriteServer server() {
        return server;
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
