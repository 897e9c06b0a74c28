package dev.tandem.cli;

import dev.tandem.config.ClusterSecret;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.transfer.WriteOp;
import dev.tandem.transfer.nixl.NixlTransferEngine;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** {@code bench-transfer}'s nixl rows: a prefill agent pushes the KV descriptor list into a decode agent's pool. */
final class BenchNixl {
    private static final ClusterSecret SECRET = ClusterSecret.of(java.util.HexFormat.of()
            .formatHex(java.security.SecureRandom.getSeed(16)).getBytes(), "bench-transfer");

    private BenchNixl() {
    }

    /**
     * Best bytes/s of {@code reps} pushes (after one warm-up that connects the agents) of {@code ops} into
     * {@code dst}, with UCX restricted to {@code tls} (null: UCX's choice) and peer error handling as given; each
     * push ends with its notification, as a real chunk does.
     */
    static double push(String tls, boolean peerErrors, MemorySegment dst, List<WriteOp> ops, long bytes, int reps) {
        return run(NixlTransferEngine.Mode.PUSH, tls, peerErrors, dst, ops, bytes, reps);
    }

    /** As {@link #push}, but the decode agent READs the descriptor list (vLLM's choreography). */
    static double pull(String tls, boolean peerErrors, MemorySegment dst, List<WriteOp> ops, long bytes, int reps) {
        return run(NixlTransferEngine.Mode.PULL, tls, peerErrors, dst, ops, bytes, reps);
    }

    private static double run(NixlTransferEngine.Mode mode, String tls, boolean peerErrors, MemorySegment dst,
                              List<WriteOp> ops, long bytes, int reps) {
        try (NixlTransferEngine sender = new NixlTransferEngine("127.0.0.1", SECRET,
                NixlTransferEngine.DEFAULT_DEADLINE_NANOS, tls, peerErrors, mode);
             NixlTransferEngine receiver = new NixlTransferEngine("127.0.0.1", SECRET,
                     NixlTransferEngine.DEFAULT_DEADLINE_NANOS, tls, peerErrors)) {
            SegmentDescriptor d = receiver.register("kv", dst, null);
            double best = 0;
            for (int r = 0; r <= reps; r++) {
                long t0 = System.nanoTime();
                if (sender.batchWrite(d, ops, r + "_kv_0_1") != 0) {
                    throw new IllegalStateException("nixl (UCX_TLS=" + tls + "): " + sender.lastError());
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (r > 0) {
                    best = Math.max(best, bytes / s);
                }
            }
            return best;
        }
    }
}
