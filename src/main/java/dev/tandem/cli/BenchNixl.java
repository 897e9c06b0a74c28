package dev.tandem.cli;

import dev.tandem.config.ClusterSecret;
import dev.tandem.kvcache.KvMemory;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.transfer.WriteOp;
import dev.tandem.transfer.nixl.NixlTransferEngine;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** {@code bench-transfer}'s nixl rows: a prefill agent moves the KV descriptor list into a decode agent's pool. */
final class BenchNixl {
    private static final ClusterSecret SECRET = ClusterSecret.of(java.util.HexFormat.of()
            .formatHex(java.security.SecureRandom.getSeed(16)).getBytes(), "bench-transfer");

    /** A 1.5 GB (32k-token) transfer on a busy machine may take longer than a worker's 30 s default. */
    private static final long DEADLINE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
    /**
     * One-page transfers (each with its notifications) before the timed ones: a running worker's per-transfer code is
     * compiled, and with the one full warm-up transfer alone it ran in the interpreter (hundreds of microseconds of
     * signing, encoding and bookkeeping per transfer, against a 2 ms copy at 1k tokens).
     */
    static final int WARM_UP_TRANSFERS = 1000;

    private BenchNixl() {
    }

    /**
     * A row's result: the median bytes/s, the UCX transports the connection used as UCX reports them, and, when a
     * baseline ran beside it, the baseline's median bytes/s and the median of each rep's ratio to the baseline run
     * just before it (else NaN); and the median bytes/s counted until the sender's answer alone (a push's sender can
     * be done before the receiver delivered the room).
     */
    record Result(double median, String lanes, double baseline, double pairedRatio, double senderMedian) {
    }

    /**
     * Nanoseconds from posting {@code ops} with room {@code room}'s KV notification until both the sender has its
     * answer and the receiver delivered the room ({@code delivered} holds when, by the receiver's clock). The room's
     * aux notification goes first, untimed, so that the KV notification completes the room. The bench's thread waits
     * for the receiver without spinning (its core is the receiver's on a small machine).
     */
    private static long[] transfer(NixlTransferEngine sender, NixlTransferEngine receiver, SegmentDescriptor d,
                                 List<WriteOp> ops, long room, String tls, java.util.Map<Long, Long> delivered) {
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        if (sender.batchWrite(d, ops.subList(0, 1), room + "_aux") != 0) {
            throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): " + sender.lastError());
        }
        while (receiver.pendingNotifiedRooms() != 1) {
            await(deadline, "room " + room + "'s aux notification", tls);
        }
        long t0 = System.nanoTime();
        if (sender.batchWrite(d, ops, room + "_kv_0_1") != 0) {
            throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): " + sender.lastError());
        }
        long answered = System.nanoTime();
        Long heard;
        while ((heard = delivered.remove(room)) == null) {
            await(deadline, "room " + room, tls);
        }
        return new long[] {Math.max(answered, heard) - t0, answered - t0};
    }

    private static void await(long deadline, String what, String tls) {
        if (System.nanoTime() - deadline > 0) {
            throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): " + what + " was not delivered in time");
        }
        java.util.concurrent.locks.LockSupport.parkNanos(10_000);
    }

    /**
     * Median bytes/s of {@code reps} transfers (after {@link #WARM_UP_TRANSFERS} small ones and one full one, which
     * connect the agents and map the peer's memory) of {@code ops} into a pool of {@code dstBytes}, with UCX restricted
     * to {@code tls} (null: UCX's own choice, as workers run it); PUSH: the prefill agent writes (SGLang), PULL: the
     * decode agent reads (vLLM). Each ends with its notification, as a chunk does, and is timed until the sender has
     * its answer <em>and</em> the receiver has delivered the room (a push's sender can be done before its peer
     * heard of it; a pull's reader records it before it answers). Both pools live where workers put them with nixl: in
     * memory each agent's UCX allocated (the source is a copy of the ops' source segment, the ops rebased onto it).
     * {@code baseline} (null: none) times one run of what the row is compared with (nanoseconds for the same bytes):
     * it runs right before each transfer, so that both see the same load on a shared machine.
     */
    static Result run(NixlTransferEngine.Mode mode, String tls, long dstBytes, List<WriteOp> ops, long bytes,
                      int reps, java.util.function.LongSupplier baseline) {
        MemorySegment original = ops.getFirst().src();
        // the sender closes first (resources close in reverse): its connection closes while the receiver still runs;
        // each pool before the engine whose memory it is
        try (NixlTransferEngine receiver = new NixlTransferEngine("127.0.0.1", SECRET,
                DEADLINE_NANOS, tls, NixlTransferEngine.Mode.PUSH);
             KvMemory.Block dst = receiver.kvMemory().allocate(dstBytes);
             NixlTransferEngine sender = new NixlTransferEngine("127.0.0.1", SECRET,
                     DEADLINE_NANOS, tls, mode);
             KvMemory.Block src = sender.kvMemory().allocate(original.byteSize())) {
            src.segment().copyFrom(original);
            List<WriteOp> rebased = ops.stream().map(o -> new WriteOp(src.segment(), o.srcOffset(), o.dstOffset(),
                    o.length())).toList();
            SegmentDescriptor d = receiver.register("kv", dst.segment(), null);
            SegmentDescriptor s = mode == NixlTransferEngine.Mode.PULL ? sender.register("src", src.segment(), null)
                    : null;
            List<WriteOp> onePage = List.of(new WriteOp(src.segment(), rebased.getFirst().srcOffset(),
                    rebased.getFirst().dstOffset(), Math.min(rebased.getFirst().length(), 4096)));
            java.util.Map<Long, Long> delivered = new java.util.concurrent.ConcurrentHashMap<>();
            receiver.onDelivered(room -> delivered.put(room, System.nanoTime()));
            long room = 0;
            for (int w = 0; w < WARM_UP_TRANSFERS; w++) {
                transfer(sender, receiver, d, onePage, room++, tls, delivered);
            }
            double[] rate = new double[reps];
            double[] base = new double[reps];
            double[] ratio = new double[reps];
            double[] senderRate = new double[reps];
            for (int r = 0; r <= reps; r++) {
                double baseSec = baseline == null ? Double.NaN : baseline.getAsLong() / 1e9;
                long[] nanos = transfer(sender, receiver, d, rebased, room++, tls, delivered);
                double sec = nanos[0] / 1e9;
                if (r > 0) { // the first maps the peer's memory (page by page, once per peer)
                    senderRate[r - 1] = bytes * 1e9 / nanos[1];
                    rate[r - 1] = bytes / sec;
                    base[r - 1] = bytes / baseSec;
                    ratio[r - 1] = baseSec / sec;
                }
            }
            WriteOp last = rebased.getLast();
            if (dst.segment().asSlice(last.dstOffset(), last.length())
                    .mismatch(src.segment().asSlice(last.srcOffset(), last.length())) != -1) {
                throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): the last descriptor's bytes differ");
            }
            // PULL: the reader (receiver) holds the connection that moved the bytes
            String lanes = mode == NixlTransferEngine.Mode.PUSH ? sender.lanes(d) + "; puts via " + sender.rmaPath(d)
                    : receiver.agent().lanes(sender.agent().name(), false).join() + "; gets via "
                    + receiver.rmaPath(s);
            return new Result(BenchTransferCommand.median(rate), lanes, BenchTransferCommand.median(base),
                    BenchTransferCommand.median(ratio), BenchTransferCommand.median(senderRate));
        }
    }
}
