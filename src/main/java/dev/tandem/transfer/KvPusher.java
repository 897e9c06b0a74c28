package dev.tandem.transfer;

import dev.tandem.kvcache.KvPool;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Moves a room's bytes into a decode worker's registered memory: the pages of one chunk (planned by
 * {@link PageCopyPlan} from this pool's layout to the peer's) and, with the last chunk, the aux row — each under a
 * write lease from the peer ({@link WriteLeases}). Runs on the room's lane, inside its push chain; the room's state
 * (what to conclude, whom to tell) stays with {@link KvSenderManager}.
 */
final class KvPusher {
    private final TransferEngine engine;
    private final KvPool pool;
    private final KvLayout layout;
    private final AuxBuffers aux;
    private final WriteLeases leases;
    private final TransferObserver observer;

    KvPusher(TransferEngine engine, KvPool pool, KvLayout layout, AuxBuffers aux, WriteLeases leases,
             TransferObserver observer) {
        this.engine = engine;
        this.pool = pool;
        this.layout = layout;
        this.aux = aux;
        this.leases = leases;
        this.observer = observer;
    }

    /**
     * Writes {@code srcPages} (the request's pages from page index {@code firstPage} of its prompt) to the pages
     * {@code info} reserved on the peer {@code reg}; with {@code last}, then the aux row from local slot
     * {@code auxSlot}. Returns null when every write went through, else why the room fails.
     */
    String push(KvSender s, Messages.KvArgsRegistration reg, Messages.TransferInfo info, int[] srcPages, int firstPage,
                boolean last, int auxSlot) {
        int[] dst = Arrays.copyOfRange(info.dstPages(), Math.min(firstPage, info.dstPages().length),
                Math.min(firstPage + srcPages.length, info.dstPages().length));
        if (dst.length < srcPages.length) {
            return "room " + s.room + ": decode reserved " + info.dstPages().length + " pages, prefill has "
                    + (firstPage + srcPages.length);
        }
        List<WriteOp> ops = new ArrayList<>(PageCopyPlan.ops(pool.segment(), layout, srcPages, reg.kvLayout(), dst));
        String noLease = ops.isEmpty() && !last ? null : leases.hold(info.decodeWorkerId());
        if (noLease != null) {
            return "room " + s.room + ": " + noLease;
        }
        if (!ops.isEmpty() || last) {
            long t0 = System.nanoTime();
            // NIXL's notif for the chunk (backends without notifications ignore it, and skip an empty batch)
            if (engine.batchWrite(reg.kv(), ops, s.room + "_kv_" + s.chunks++ + "_" + (last ? 1 : 0)) != 0) {
                return "Failed to send kv chunk of " + s.room + ": " + engine.lastError();
            }
            if (!ops.isEmpty()) {
                observer.onKvSent(ops.stream().mapToLong(WriteOp::length).sum(), System.nanoTime() - t0);
            }
        }
        if (last) {
            String lapsed = leases.hold(info.decodeWorkerId()); // the KV may have taken a while
            if (lapsed != null) {
                return "room " + s.room + ": " + lapsed;
            }
            if (engine.batchWrite(reg.aux(), aux.copyOps(auxSlot, reg.auxSlots(), info.dstAuxIndex()),
                    s.room + "_aux") != 0) {
                return "Failed to send aux of " + s.room + ": " + engine.lastError();
            }
        }
        return null;
    }
}
