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

    private BenchNixl() {
    }

    /** A row's result: the median bytes/s and the UCX transports the connection used, as UCX reports them. */
    record Result(double median, String lanes) {
    }

    /**
     * Median bytes/s of {@code reps} transfers (after one warm-up that connects the agents) of {@code ops} into a pool
     * of {@code dstBytes}, with UCX restricted to {@code tls} (null: UCX's own choice, as workers run it); PUSH: the
     * prefill agent writes (SGLang), PULL: the decode agent reads (vLLM). Each ends with its notification, as a chunk
     * does. Both pools live where workers put them with nixl: in memory each agent's UCX allocated (the source is a
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
            double[] rate = new double[reps];
            for (int r = 0; r <= reps; r++) {
                long t0 = System.nanoTime();
                if (sender.batchWrite(d, rebased, r + "_kv_0_1") != 0) {
                    throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): " + sender.lastError());
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                if (r > 0) {
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
