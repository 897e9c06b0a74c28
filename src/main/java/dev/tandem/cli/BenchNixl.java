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

    /** A row's result: the median bytes/s and the UCX transports the connection used, as UCX reports them. */
    record Result(double median, String lanes) {
    }

    /**
     * Nanoseconds until {@code ops} moved with room {@code room}'s KV notification and the receiver recorded it (the
     * room is then pending: its aux row is missing), then, untimed, the room's aux notification (nothing pending).
     */
    private static long transfer(NixlTransferEngine sender, NixlTransferEngine receiver, SegmentDescriptor d,
                                 List<WriteOp> ops, long room, String tls) {
        long t0 = System.nanoTime();
        if (sender.batchWrite(d, ops, room + "_kv_0_1") != 0) {
            throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): " + sender.lastError());
        }
        long deadline = t0 + DEADLINE_NANOS;
        awaitPending(receiver, 1, deadline, "room " + room + "'s KV notification was not recorded", tls);
        long t1 = System.nanoTime();
        if (sender.batchWrite(d, ops.subList(0, 1), room + "_aux") != 0) {
            throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): " + sender.lastError());
        }
        awaitPending(receiver, 0, deadline, "room " + room + " was not completed", tls);
        return t1 - t0;
    }

    private static void awaitPending(NixlTransferEngine receiver, int rooms, long deadline, String what, String tls) {
        while (receiver.pendingNotifiedRooms() != rooms) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): " + what + " by the receiver in time");
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Median bytes/s of {@code reps} transfers (after {@link #WARM_UP_TRANSFERS} small ones and one full one, which
     * connect the agents and map the peer's memory) of {@code ops} into a pool of {@code dstBytes}, with UCX restricted
     * to {@code tls} (null: UCX's own choice, as workers run it); PUSH: the prefill agent writes (SGLang), PULL: the
     * decode agent reads (vLLM). Each ends with its notification, as a chunk does, and is timed until the sender has
     * its answer <em>and</em> the receiver has recorded the notification (a push's sender can be done before its peer
     * heard of it; a pull's reader records it before it answers). Both pools live where workers put them with nixl: in memory each agent's UCX allocated (the source is a
     * copy of the ops' source segment, the ops rebased onto it).
     */
    static Result run(NixlTransferEngine.Mode mode, String tls, long dstBytes, List<WriteOp> ops, long bytes,
                      int reps) {
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
            long room = 0;
            for (int w = 0; w < WARM_UP_TRANSFERS; w++) {
                transfer(sender, receiver, d, onePage, room++, tls);
            }
            double[] rate = new double[reps];
            for (int r = 0; r <= reps; r++) {
                double sec = transfer(sender, receiver, d, rebased, room++, tls) / 1e9;
                if (r > 0) { // the first maps the peer's memory (page by page, once per peer)
                    rate[r - 1] = bytes / sec;
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
            return new Result(BenchTransferCommand.median(rate), lanes);
        }
    }
}
