package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.KvDtype;
import dev.tandem.kvcache.KvPool;
import dev.tandem.kvcache.ShmFile;
import dev.tandem.transfer.KvLayout;
import dev.tandem.transfer.MooncakeTransferEngine;
import dev.tandem.transfer.PageCopyPlan;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.transfer.WriteOp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Set;

/**
 * {@code bench-transfer}: moves the KV of 1k, 8k and 32k-token prompts (the {@code bench} preset's shape: 30 layers,
 * 3 KV heads of 64, F32, pages of 16) through each transport, and measures in the same run what the transport
 * should be compared with: a plain single-thread memcpy for {@code shm}, a plain loopback socket stream for
 * {@code tcp}. Every figure is the median of {@code --reps} runs (after a warm-up run; the transports' rows also after
 * {@link BenchNixl#WARM_UP_TRANSFERS} one-page transfers, so that their per-transfer code runs compiled, as in a
 * running worker; a nixl row is timed until the receiver delivered the room its notification completes). The nixl rows run as workers
 * do (UCX's own choice of transport: shared memory on one host) against memcpy, and over {@code UCX_TLS=tcp} against
 * the socket (each measured again just before the row, so that a drifting load on a shared machine does not skew the
 * ratio), each printing the transports UCX says the connection used.
 */
public final class BenchTransferCommand {
    /** A secret of this run only: sender and receiver live in this JVM. */
    private static final dev.tandem.config.ClusterSecret SECRET = dev.tandem.config.ClusterSecret.of(
            java.util.HexFormat.of().formatHex(java.security.SecureRandom.getSeed(16)).getBytes(), "bench-transfer");
    private static final int LAYERS = 30;
    private static final int KV_HEADS = 3;
    private static final int HEAD_DIM = 64;
    private static final int PAGE = 16;
    /** UCX restricted to tcp: the cross-host path, measured here over loopback. */
    private static final String NIXL_TCP_TLS = "tcp";

    private BenchTransferCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of("no-nixl"));
        int[] sizes = a.has("tokens") ? a.intList("tokens") : new int[] {1024, 8192, 32768};
        int reps = a.integer("reps", 5);
        if (reps < 1) {
            throw new IllegalArgumentException("reps: must be at least 1, got " + reps);
        }
        // the nixl rows when UCX loads (./run.sh setup-ucx installs it); --no-nixl leaves them out
        boolean nixl = !a.has("no-nixl") && dev.tandem.transfer.nixl.Ucx.available();
        KvDtype dtype = a.kvCacheDtype();
        a.rejectUnknown();
        if (!nixl && !a.has("no-nixl")) {
            System.out.println("nixl rows left out: " + dev.tandem.transfer.nixl.Ucx.unavailableReason());
        }
        long perToken = 2L * LAYERS * KV_HEADS * HEAD_DIM * dtype.bytes(); // K and V of every layer
        System.out.printf("KV shape: %d layers x (K,V) x %d heads x %d dims, %s, page %d tokens (%.1f KB/token)%n",
                LAYERS, KV_HEADS, HEAD_DIM, dtype.label(), PAGE, perToken / 1024.0);
        for (int tokens : sizes) {
            int pages = tokens / PAGE;
            try (KvPool src = new KvPool(LAYERS, pages, PAGE, KV_HEADS, HEAD_DIM, null, dtype);
                 KvPool dst = new KvPool(LAYERS, pages, PAGE, KV_HEADS, HEAD_DIM, ShmFile.fresh("bench", "kv"),
                         dtype)) {
                src.segment().fill((byte) 3);
                dst.segment().fill((byte) 0);
                long bytes = src.segment().byteSize();
                if (bytes != perToken * pages * PAGE) { // the pool's own layout, not an assumed 4 bytes
                    throw new IllegalStateException("the pool holds " + bytes + " bytes for " + pages * PAGE
                            + " tokens, not " + perToken + " a token");
                }
                System.out.printf("%6d tokens: %d bytes per token (%s), %d bytes moved%n", tokens,
                        2L * LAYERS * src.slotBytes(), dtype.label(), bytes);
                int[] ids = java.util.stream.IntStream.range(0, pages).toArray();
                KvLayout layout = new KvLayout(LAYERS, src.regionOffset(1, false), src.pageBytes());
                List<WriteOp> ops = PageCopyPlan.ops(src.segment(), layout, ids, layout, ids);
                double shm = transfer(MooncakeTransferEngine.Mode.SHM, dst, ops, bytes, reps);
                double tcp = transfer(MooncakeTransferEngine.Mode.TCP, dst, ops, bytes, reps);
                double memcpy = memcpy(bytes, reps);
                double socket = socket(bytes, reps);
                System.out.printf("%6d tokens (%7.1f MB): shm %6.2f GB/s vs memcpy %6.2f GB/s (%3.0f%%)   "
                                + "tcp %5.2f GB/s vs socket %5.2f GB/s (%3.0f%%)%n", tokens, bytes / 1e6, shm / 1e9,
                        memcpy / 1e9, 100 * shm / memcpy, tcp / 1e9, socket / 1e9, 100 * tcp / socket);
                if (nixl) {
                    // each row against memcpy / the socket measured in the same minute: on a shared machine the load
                    // drifts within the minute the rows take. memcpy runs right before each transfer of the row (the
                    // pair sees the same load; the paired figure is the median of the reps' ratios), the socket
                    // just before the row
                    for (var mode : dev.tandem.transfer.nixl.NixlTransferEngine.Mode.values()) {
                        String m = mode.name().toLowerCase(java.util.Locale.ROOT);
                        BenchNixl.Result own;
                        try (Arena arena = Arena.ofConfined()) {
                            own = BenchNixl.run(mode, null, dst.segment().byteSize(), ops, bytes, reps,
                                    memcpyOnce(arena, bytes));
                        }
                        System.out.printf("%6s nixl %-4s as workers run it %6.2f GB/s vs memcpy %6.2f GB/s (%3.0f%%, "
                                + "paired %3.0f%%; sender done at %.2f GB/s)  UCX: %s%n", "", m, own.median() / 1e9,
                                own.baseline() / 1e9, 100 * own.median() / own.baseline(), 100 * own.pairedRatio(),
                                own.senderMedian() / 1e9, own.lanes());
                        double socketNow = socket(bytes, reps);
                        BenchNixl.Result tcpOnly = BenchNixl.run(mode, NIXL_TCP_TLS, dst.segment().byteSize(), ops, bytes,
                                reps, null);
                        System.out.printf("%6s nixl %-4s UCX_TLS=%s %14.2f GB/s vs socket %5.2f GB/s (%3.0f%%; sender done "
                                + "at %.2f GB/s)  UCX: %s%n", "", m, NIXL_TCP_TLS, tcpOnly.median() / 1e9,
                                socketNow / 1e9, 100 * tcpOnly.median() / socketNow, tcpOnly.senderMedian() / 1e9,
                                tcpOnly.lanes());
                    }
                }
            }
        }
        return 0;
    }

    private static double transfer(MooncakeTransferEngine.Mode mode, KvPool dst, List<WriteOp> ops, long bytes,
                                   int reps) {
        try (MooncakeTransferEngine sender = new MooncakeTransferEngine(mode, "127.0.0.1", SECRET);
             MooncakeTransferEngine receiver = new MooncakeTransferEngine(mode, "127.0.0.1", SECRET)) {
            SegmentDescriptor d = receiver.register("kv", dst.segment(), dst.file());
            WriteOp first = ops.getFirst();
            List<WriteOp> onePage = List.of(new WriteOp(first.src(), first.srcOffset(), first.dstOffset(),
                    Math.min(first.length(), 4096)));
            for (int w = 0; w < BenchNixl.WARM_UP_TRANSFERS; w++) { // the per-transfer code compiled, as nixl's
                if (sender.batchWrite(d, onePage) != 0) {
                    throw new IllegalStateException(sender.lastError());
                }
            }
            double[] rate = new double[reps];
            for (int r = 0; r <= reps; r++) {
                long t0 = System.nanoTime();
                if (sender.batchWrite(d, ops) != 0) {
                    throw new IllegalStateException(sender.lastError());
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (r > 0) { // the first run maps the peer's file, or connects and runs the handshake
                    rate[r - 1] = bytes / s;
                }
            }
            return median(rate);
        }
    }

    /** The median of {@code xs} (the mean of the middle two for an even count). */
    static double median(double[] xs) {
        double[] s = xs.clone();
        java.util.Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** One timed memcpy of {@code bytes} between two buffers of {@code arena}, filled first (ns per call). */
    private static java.util.function.LongSupplier memcpyOnce(Arena arena, long bytes) {
        MemorySegment a = arena.allocate(bytes, 64);
        MemorySegment b = arena.allocate(bytes, 64);
        a.fill((byte) 1);
        b.fill((byte) 2);
        return () -> {
            long t0 = System.nanoTime();
            MemorySegment.copy(a, 0, b, 0, bytes);
            return System.nanoTime() - t0;
        };
    }

    private static double memcpy(long bytes, int reps) {
        try (Arena arena = Arena.ofConfined()) {
            java.util.function.LongSupplier copy = memcpyOnce(arena, bytes);
            copy.getAsLong(); // warm-up
            double[] rate = new double[reps];
            for (int r = 0; r < reps; r++) {
                rate[r] = bytes / (copy.getAsLong() / 1e9);
            }
            return median(rate);
        }
    }

    /** A plain stream of {@code bytes} over a loopback socket from one thread to a reader thread. */
    private static double socket(long bytes, int reps) {
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
             Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(bytes, 64);
            MemorySegment dst = arena.allocate(bytes, 64);
            src.fill((byte) 5);
            Thread reader = Thread.ofPlatform().start(() -> {
                try (SocketChannel in = server.accept()) {
                    for (int r = 0; r <= reps; r++) {
                        ByteBuffer b = dst.asByteBuffer();
                        while (b.hasRemaining()) {
                            if (in.read(b) < 0) {
                                return;
                            }
                        }
                        in.write(ByteBuffer.allocate(1));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            double[] rate = new double[reps];
            try (SocketChannel out = SocketChannel.open(server.getLocalAddress())) {
                for (int r = 0; r <= reps; r++) {
                    long t0 = System.nanoTime();
                    ByteBuffer b = src.asByteBuffer();
                    while (b.hasRemaining()) {
                        out.write(b);
                    }
                    out.read(ByteBuffer.allocate(1));
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (r > 0) {
                        rate[r - 1] = bytes / s;
                    }
                }
            }
            reader.join();
            return median(rate);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }
}
