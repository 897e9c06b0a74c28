package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TCP writer facing peers that do not play by the rules, over real loopback sockets: none of them writes a
 * byte, each is dropped and counted under its reason, and an honest peer is served exactly afterwards.
 */
@Timeout(120)
class TcpHostilePeerTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("tcp-hostile-peer-test-secret".getBytes(), "test");
    private static final ClusterSecret OTHER = ClusterSecret.of("another-cluster-entirely-secret".getBytes(), "test");
    private static final int SEGMENT_BYTES = 4096;
    private static final TcpLimits LIMITS = new TcpLimits(32, 8, 2, Duration.ofMillis(500), Duration.ofSeconds(2),
            Duration.ofMinutes(1), Duration.ofSeconds(2));

    private final Map<TcpRejection, AtomicLong> heard = new ConcurrentHashMap<>();
    private MooncakeTransferEngine decode;
    private MooncakeTransferEngine prefill;
    private Arena arena;
    private MemorySegment kv;
    private byte[] reference;
    private SegmentDescriptor desc;
    private boolean honestConnected;

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        kv = arena.allocate(SEGMENT_BYTES);
        kv.fill((byte) 0x5A);
        reference = kv.toArray(ValueLayout.JAVA_BYTE);
        decode = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.TCP, "127.0.0.1", SECRET,
                r -> heard.computeIfAbsent(r, k -> new AtomicLong()).incrementAndGet(), LIMITS);
        prefill = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.TCP, "127.0.0.1", SECRET,
                TcpRejection.Listener.NONE, LIMITS);
        desc = decode.register("kv", kv, null);
    }

    @AfterEach
    void tearDown() {
        prefill.close();
        decode.close();
        arena.close();
    }

    private TcpWriteServer server() {
        return decode.server();
    }

    private void assertUntouched() {
        assertArrayEquals(reference, kv.toArray(ValueLayout.JAVA_BYTE), "the segment must hold its own bytes");
    }

    /** An honest batch through the real client lands exactly, byte for byte. */
    private void assertHonestPeerServed(int seed) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(256);
            for (int i = 0; i < 256; i++) {
                src.set(ValueLayout.JAVA_BYTE, i, (byte) (seed + i));
            }
            assertEquals(0, prefill.batchWrite(desc, List.of(new WriteOp(src, 0, 1024, 128),
                    new WriteOp(src, 128, 3968, 128))), prefill.lastError());
            for (int i = 0; i < 128; i++) {
                reference[1024 + i] = (byte) (seed + i);
                reference[3968 + i] = (byte) (seed + 128 + i);
            }
            assertArrayEquals(reference, kv.toArray(ValueLayout.JAVA_BYTE), "honest bytes land exactly");
            honestConnected = true; // its connection stays open for the next batch
        }
    }

    /** A peer speaking the protocol by hand over a plain blocking socket. */
    private static final class RawPeer implements AutoCloseable {
        final Socket socket;
        final DataInputStream in;
        final DataOutputStream out;
        byte[] serverNonce;

        RawPeer(int port) throws IOException {
            socket = new Socket(InetAddress.getLoopbackAddress(), port);
            socket.setSoTimeout(10_000);
            in = new DataInputStream(socket.getInputStream());
            out = new DataOutputStream(socket.getOutputStream());
        }

        RawPeer readHello() throws IOException {
            assertEquals(TcpWireFormat.AUTH_MAGIC, in.readInt());
            assertEquals(TcpWireFormat.VERSION, in.readInt());
            serverNonce = in.readNBytes(TcpWireFormat.NONCE_BYTES);
            return this;
        }

        /** Answers the challenge with {@code secret}; returns the bytes sent. */
        byte[] answer(ClusterSecret secret) throws IOException {
            byte[] clientNonce = TcpWireFormat.nonce();
            byte[] auth = TcpWireFormat.auth(clientNonce, TcpWireFormat.clientMac(secret, serverNonce, clientNonce))
                    .array();
            out.write(auth);
            out.flush();
            return auth;
        }

        /** The whole handshake; checks the server's proof. */
        RawPeer authenticate(ClusterSecret secret) throws IOException {
            readHello();
            byte[] auth = answer(secret);
            byte[] clientNonce = java.util.Arrays.copyOfRange(auth, 8, 8 + TcpWireFormat.NONCE_BYTES);
            assertEquals(TcpWireFormat.OK, in.readInt());
            assertArrayEquals(TcpWireFormat.serverMac(secret, serverNonce, clientNonce),
                    in.readNBytes(TcpWireFormat.MAC_BYTES), "the server proves the secret back");
            return this;
        }

        void send(byte[] bytes) throws IOException {
            try {
                out.write(bytes);
                out.flush();
            } catch (SocketException closedAlready) {
                // the server may drop us before we finish: what matters is what it wrote
            }
        }

        /** Reads until the server closes; fails if it keeps the connection open (SO_TIMEOUT). */
        void assertClosedByServer() throws IOException {
            try {
                InputStream s = socket.getInputStream();
                while (s.read() >= 0) {
                    // a best-effort error status may come first
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the server kept a misbehaving peer's connection open", e);
            } catch (SocketException reset) {
                // closed with unread bytes: a reset is a close too
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** A batch frame: {@code name} with the given announced lengths and ops, each followed by 0xFF payload. */
    private static byte[] frame(int magic, int nameLength, String name, int opCount, long[][] ops, int payload) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(12 + n.length + ops.length * (16 + payload));
        b.putInt(magic).putInt(nameLength).put(n).putInt(opCount);
        for (long[] op : ops) {
            b.putLong(op[0]).putLong(op[1]);
            for (int i = 0; i < payload; i++) {
                b.put((byte) 0xFF);
            }
        }
        return b.array();
    }

    private long heard(TcpRejection r) {
        AtomicLong n = heard.get(r);
        return n == null ? 0 : n.get();
    }

    /** Waits until only the honest peer's connection (if it has made one) is left. */
    private void awaitNoConnections() throws InterruptedException {
        int honest = honestConnected ? 1 : 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (server().openConnections() > honest && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(honest, server().openConnections(), "every hostile connection is closed");
    }

    @Test
    void peersWithoutTheSecretWriteNothing() throws Exception {
        byte[] batch = frame(TcpWireFormat.MAGIC, 2, "kv", 1, new long[][] {{0, 64}}, 64);
        // no handshake at all: a batch straight away
        try (RawPeer p = new RawPeer(desc.tcpPort())) {
            p.send(batch);
            p.assertClosedByServer();
        }
        // the right protocol, the wrong secret
        try (RawPeer p = new RawPeer(desc.tcpPort())) {
            p.readHello().answer(OTHER);
            p.send(batch);
            p.assertClosedByServer();
        }
        // garbage
        try (RawPeer p = new RawPeer(desc.tcpPort())) {
            byte[] junk = new byte[4096];
            new Random(7).nextBytes(junk);
            p.send(junk);
            p.assertClosedByServer();
        }
        awaitNoConnections();
        assertUntouched();
        assertEquals(3, server().rejected(TcpRejection.AUTH_FAILED));
        assertEquals(3, heard(TcpRejection.AUTH_FAILED), "the listener (the worker's metric) hears each one");
        assertHonestPeerServed(1);
    }

    @Test
    void aReplayedAnswerIsRefused() throws Exception {
        byte[] recorded;
        try (RawPeer member = new RawPeer(desc.tcpPort())) { // a member's handshake, seen by an eavesdropper
            member.readHello();
            recorded = member.answer(SECRET);
            assertEquals(TcpWireFormat.OK, member.in.readInt(), "the member's own answer is accepted");
        }
        try (RawPeer replayer = new RawPeer(desc.tcpPort())) {
            replayer.readHello();
            replayer.send(recorded);
            replayer.send(frame(TcpWireFormat.MAGIC, 2, "kv", 1, new long[][] {{0, 64}}, 64));
            replayer.assertClosedByServer();
        }
        awaitNoConnections();
        assertUntouched();
        assertEquals(1, server().rejected(TcpRejection.AUTH_FAILED), "the replayed answer fails the new challenge");
        assertHonestPeerServed(2);
    }

    @Test
    void aSilentPeerIsDroppedAtTheAuthDeadline() throws Exception {
        try (RawPeer p = new RawPeer(desc.tcpPort())) {
            p.readHello();
            p.assertClosedByServer(); // SO_TIMEOUT 10 s >> the 0.5 s deadline
        }
        awaitNoConnections();
        assertEquals(1, server().rejected(TcpRejection.AUTH_TIMEOUT));
        assertHonestPeerServed(3);
    }

    /** Authenticated members that send malformed or hostile batches: each dropped, nothing written. */
    @Test
    void hostileBatchesFromAnAuthenticatedPeerWriteNothing() throws Exception {
        record Case(String what, byte[] bytes, TcpRejection reason) {
        }
        long size = SEGMENT_BYTES;
        List<Case> cases = List.of(
                new Case("a 2 GiB name length", frame(TcpWireFormat.MAGIC, Integer.MAX_VALUE, "kv", 1,
                        new long[][] {{0, 64}}, 64), TcpRejection.BAD_FRAME),
                new Case("a negative name length", frame(TcpWireFormat.MAGIC, -2, "kv", 1,
                        new long[][] {{0, 64}}, 64), TcpRejection.BAD_FRAME),
                new Case("a wrong batch magic", frame(0x12345678, 2, "kv", 1, new long[][] {{0, 64}}, 64),
                        TcpRejection.BAD_FRAME),
                new Case("an op count of 2^31-1", frame(TcpWireFormat.MAGIC, 2, "kv", Integer.MAX_VALUE,
                        new long[][] {{0, 64}}, 64), TcpRejection.BAD_FRAME),
                new Case("a negative op count", frame(TcpWireFormat.MAGIC, 2, "kv", -1,
                        new long[][] {{0, 64}}, 64), TcpRejection.BAD_FRAME),
                new Case("an unknown segment", frame(TcpWireFormat.MAGIC, 5, "ghost", 1,
                        new long[][] {{0, 64}}, 64), TcpRejection.UNKNOWN_SEGMENT),
                new Case("a negative offset", frame(TcpWireFormat.MAGIC, 2, "kv", 1,
                        new long[][] {{-64, 64}}, 64), TcpRejection.OUT_OF_BOUNDS),
                new Case("an op past the segment end", frame(TcpWireFormat.MAGIC, 2, "kv", 1,
                        new long[][] {{size - 32, 64}}, 64), TcpRejection.OUT_OF_BOUNDS),
                new Case("an offset + length that overflows", frame(TcpWireFormat.MAGIC, 2, "kv", 1,
                        new long[][] {{Long.MAX_VALUE - 8, 64}}, 64), TcpRejection.OUT_OF_BOUNDS),
                new Case("a 2 GiB op length", frame(TcpWireFormat.MAGIC, 2, "kv", 1,
                        new long[][] {{0, 1L << 31}}, 64), TcpRejection.OUT_OF_BOUNDS),
                new Case("a negative op length", frame(TcpWireFormat.MAGIC, 2, "kv", 1,
                        new long[][] {{0, -1}}, 64), TcpRejection.OUT_OF_BOUNDS));
        java.util.EnumMap<TcpRejection, Long> expected = new java.util.EnumMap<>(TcpRejection.class);
        for (Case c : cases) {
            try (RawPeer p = new RawPeer(desc.tcpPort()).authenticate(SECRET)) {
                p.send(c.bytes());
                p.assertClosedByServer();
            }
            expected.merge(c.reason(), 1L, Long::sum);
            awaitNoConnections();
            assertUntouched();
            assertEquals(expected.get(c.reason()), server().rejected(c.reason()), c.what());
            assertHonestPeerServed(10 + expected.values().stream().mapToInt(Long::intValue).sum());
        }
        assertEquals(cases.size(), server().rejectedTotal(), "one rejection per hostile peer, none for the honest");
        for (TcpRejection r : expected.keySet()) {
            assertEquals(expected.get(r), heard(r), "listener hears " + r);
        }
    }

    /** 10 000 connections in batches of 100: threads and connections stay within the caps, the heap stays flat. */
    @Test
    void tenThousandConnectionsCannotExhaustThreadsOrHeap() throws Exception {
        assertHonestPeerServed(40); // warms the honest connection up: it must survive the flood
        var threads = ManagementFactory.getThreadMXBean();
        var memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        long heapBefore = memory.getHeapMemoryUsage().getUsed();
        int threadsBefore = threads.getThreadCount();
        long rejectedBefore = server().rejectedTotal();
        int maxTransferThreads = 0;
        for (int batch = 0; batch < 100; batch++) {
            List<Socket> open = new ArrayList<>(100);
            try {
                for (int i = 0; i < 100; i++) {
                    open.add(new Socket(InetAddress.getLoopbackAddress(), desc.tcpPort()));
                }
                maxTransferThreads = Math.max(maxTransferThreads, transferThreads());
                assertTrue(server().openConnections() <= LIMITS.maxConnections(), "open connections within the cap");
            } finally {
                for (Socket s : open) {
                    s.close();
                }
            }
        }
        // The server accepts what the kernel queued at its own pace (slowly on a loaded machine): wait for the last
        // of them, not just for the connections it had accepted so far to be closed.
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (server().rejectedTotal() - rejectedBefore < 10_000 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        awaitNoConnections();
        System.gc();
        long heapGrowth = memory.getHeapMemoryUsage().getUsed() - heapBefore;
        assertTrue(server().handlerThreads() <= LIMITS.handlerThreads(), "handler threads " + server().handlerThreads());
        assertTrue(maxTransferThreads <= LIMITS.handlerThreads() + 1, "transfer threads (handlers + the I/O thread): "
                + maxTransferThreads);
        assertTrue(threads.getThreadCount() <= threadsBefore + 2, "JVM threads " + threadsBefore + " -> "
                + threads.getThreadCount());
        assertTrue(server().peakConnections() <= LIMITS.maxConnections(), "peak " + server().peakConnections());
        assertTrue(heapGrowth < 32L << 20, "heap grew by " + heapGrowth + " bytes over 10 000 connections");
        assertEquals(10_000, server().rejectedTotal() - rejectedBefore,
                "every one of them dropped: over a cap, or closed without authenticating");
        assertTrue(server().rejected(TcpRejection.TOO_MANY_UNAUTHENTICATED) > 0, "the handshake cap was reached");
        assertUntouched();
        assertHonestPeerServed(41);
    }

    /** Live threads of the decode engine's server. */
    private int transferThreads() {
        String prefix = server().threadPrefix();
        return (int) Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix)).count();
    }

    @Test
    void aClientGivesUpOnAServerThatNeverAnswersTheHandshake() throws Exception {
        try (ServerSocket mute = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Arena a = Arena.ofConfined()) {
            Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
                try {
                    Socket held = mute.accept(); // accepted, never answered
                    Thread.sleep(60_000);
                    held.close();
                } catch (IOException | InterruptedException ignored) {
                    // test over
                }
            });
            SegmentDescriptor silent = new SegmentDescriptor("kv", desc.hostId(), null, "127.0.0.1",
                    mute.getLocalPort(), 64);
            assertTrue(prefill.batchWrite(silent, List.of(new WriteOp(a.allocate(64), 0, 0, 64))) < 0);
            assertTrue(prefill.lastError().contains("challenge"), prefill.lastError());
            acceptor.interrupt();
        }
    }

    @Test
    void aClientSendsNoKvToAnImpostor() throws Exception {
        try (ServerSocket impostor = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Arena a = Arena.ofConfined()) {
            AtomicLong bytesAfterAuth = new AtomicLong(-1);
            Thread t = Thread.ofPlatform().daemon().start(() -> {
                try (Socket s = impostor.accept()) {
                    s.setSoTimeout(10_000);
                    var out = new DataOutputStream(s.getOutputStream());
                    out.write(TcpWireFormat.hello(TcpWireFormat.nonce()).array());
                    new DataInputStream(s.getInputStream()).readNBytes(TcpWireFormat.AUTH_BYTES);
                    byte[] fakeMac = new byte[TcpWireFormat.MAC_BYTES];
                    new Random(3).nextBytes(fakeMac);
                    out.write(TcpWireFormat.proof(fakeMac).array()); // it cannot compute the real proof
                    bytesAfterAuth.set(s.getInputStream().readAllBytes().length);
                } catch (IOException e) {
                    bytesAfterAuth.set(-2);
                }
            });
            MemorySegment src = a.allocate(64);
            src.fill((byte) 9);
            SegmentDescriptor fake = new SegmentDescriptor("kv", desc.hostId(), null, "127.0.0.1",
                    impostor.getLocalPort(), 64);
            assertTrue(prefill.batchWrite(fake, List.of(new WriteOp(src, 0, 0, 64))) < 0);
            assertTrue(prefill.lastError().contains("failed to prove"), prefill.lastError());
            t.join(10_000);
            assertEquals(0, bytesAfterAuth.get(), "not one byte after the handshake reached the impostor");
        }
    }

    @Test
    void membersWithDifferentSecretsCannotTransfer() {
        try (MooncakeTransferEngine stranger = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.TCP,
                "127.0.0.1", OTHER, TcpRejection.Listener.NONE, LIMITS);
             Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(64);
            src.fill((byte) 1);
            assertTrue(stranger.batchWrite(desc, List.of(new WriteOp(src, 0, 0, 64))) < 0);
            assertTrue(stranger.lastError().contains("secrets differ"), stranger.lastError());
            assertUntouched();
            assertEquals(1, server().rejected(TcpRejection.AUTH_FAILED));
        }
        assertHonestPeerServed(50);
    }

    @Test
    void anIdleConnectionClosedByTheServerIsReplacedTransparently() throws Exception {
        TcpLimits quickIdle = new TcpLimits(32, 8, 2, Duration.ofMillis(500), Duration.ofSeconds(2),
                Duration.ofMillis(200), Duration.ofSeconds(2));
        try (MooncakeTransferEngine d = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.TCP, "127.0.0.1",
                SECRET, TcpRejection.Listener.NONE, quickIdle);
             Arena a = Arena.ofShared()) { // the server's handler threads write into it
            MemorySegment dst = a.allocate(64);
            SegmentDescriptor dd = d.register("kv", dst, null);
            MemorySegment src = a.allocate(64);
            src.fill((byte) 4);
            assertEquals(0, prefill.batchWrite(dd, List.of(new WriteOp(src, 0, 0, 64))), prefill.lastError());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (d.server().openConnections() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, d.server().openConnections(), "the server closed the idle connection");
            src.fill((byte) 6);
            assertEquals(0, prefill.batchWrite(dd, List.of(new WriteOp(src, 0, 0, 64))), prefill.lastError());
            assertEquals(-1, dst.mismatch(src), "the batch went through on a fresh connection");
            assertEquals(0, d.server().rejectedTotal(), "closing an idle member is not a rejection");
        }
    }
}
