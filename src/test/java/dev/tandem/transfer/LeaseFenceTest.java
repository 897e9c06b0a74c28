package dev.tandem.transfer;

import dev.tandem.kvcache.KvPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Write leases fence a prefill worker that was given up on without its word (declared dead by the heartbeat, or
 * unreachable): it writes only under a lease it asked for, and the decode side frees such a room's pages only once
 * every lease it granted that peer, plus the write deadline, has run out, or when the peer acknowledges the abort it
 * is sent as soon as it asks for a lease again. Manual clock: nothing sleeps.
 */
@Timeout(30)
class LeaseFenceTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long DEADLINE = 3 * SECOND;

    private static Messages.KvArgsRegistration self() {
        SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "127.0.0.1", 1, 4096, null);
        return new Messages.KvArgsRegistration("d0", d, new KvLayout(1, 1024, 256), d, 4, 0, 1, "d1");
    }

    /** A prefill worker's bootstrap service: registration and infos answered; aborts as the test says. */
    static final class Peer implements KvReceiverManager.BootstrapClient {
        final List<Long> aborts = new CopyOnWriteArrayList<>();
        volatile CompletableFuture<Boolean> abortReply = CompletableFuture.failedFuture(new IllegalStateException(
                "unreachable"));

        @Override
        public CompletionStage<String> register(String address, Messages.KvArgsRegistration registration) {
            return CompletableFuture.completedFuture("p1");
        }

        @Override
        public CompletionStage<String> sendTransferInfo(String address, Messages.TransferInfo info) {
            return CompletableFuture.completedFuture("p1");
        }

        @Override
        public CompletionStage<Boolean> abortRoom(String address, Messages.AbortRoom abort) {
            aborts.add(abort.room());
            return abortReply;
        }
    }

    @Test
    void aPeerDeclaredDeadKeepsItsRoomsPagesUntilItsLeasesRunOut() {
        AtomicLong now = new AtomicLong(100 * SECOND);
        Peer peer = new Peer();
        KvReceiverManager m = new KvReceiverManager(self(), peer, 3600 * SECOND, 0, now::get, DEADLINE);
        String addr = "10.0.0.1:8998";
        KvReceiver r = m.create(new Bootstrap("10.0.0.1", 8998, 1));
        m.init(r, new int[] {0, 1}, 0);
        m.onLeaseRequest(addr); // it pushes under a lease granted now (100 s)
        now.addAndGet(2 * SECOND);
        m.failAddress(addr, "Losing connection with prefill instance");
        assertEquals(KvPoll.FAILED, m.poll(r).status());
        assertFalse(r.quiet(), "it may be frozen, not dead: its lease still runs");
        now.set(100 * SECOND + KvReceiverManager.LEASE_NANOS + DEADLINE);
        assertFalse(m.poll(r).quiet(), "a write begun at the lease's end may still be landing");
        now.addAndGet(1);
        assertTrue(m.poll(r).quiet(), "every lease and the write deadline have run out");
    }

    @Test
    void aPeerThatComesBackIsToldFirstAndItsAcknowledgementFreesThePages() {
        AtomicLong now = new AtomicLong(100 * SECOND);
        Peer peer = new Peer();
        KvReceiverManager m = new KvReceiverManager(self(), peer, 3600 * SECOND, 0, now::get, DEADLINE);
        String addr = "10.0.0.1:8998";
        KvReceiver r = m.create(new Bootstrap("10.0.0.1", 8998, 1));
        m.init(r, new int[] {0}, 0);
        m.onLeaseRequest(addr);
        m.abort(r, "client went away"); // unreachable: the abort fails
        assertEquals(List.of(1L), peer.aborts);
        assertFalse(m.poll(r).quiet());
        assertEquals(List.of(1L), m.roomsInFlight(addr), "the heartbeat keeps asking about it");
        peer.abortReply = CompletableFuture.completedFuture(true);
        now.addAndGet(5 * SECOND);
        m.onLeaseRequest(addr); // back (it was frozen): asks for a lease to write, and hears of the abort first
        assertEquals(List.of(1L, 1L), peer.aborts);
        assertTrue(m.poll(r).quiet(), "acknowledged: nothing of the room is in flight there");
        m.onLeaseRequest(addr);
        assertEquals(2, peer.aborts.size(), "told once it could hear it");
    }

    @Test
    void aPrefillWithoutALeaseWritesNothing() throws Exception {
        List<String> written = new ArrayList<>();
        List<Messages.TransferStatus> reported = new CopyOnWriteArrayList<>();
        TransferEngine engine = new ScriptedTransferEngine((remote, ops) -> {
            synchronized (written) {
                ops.forEach(o -> written.add(remote.name() + ":" + o.dstOffset()));
            }
            return 0;
        }, () -> { });
        List<String> asked = new CopyOnWriteArrayList<>();
        WriteLeases.Client refusing = id -> {
            asked.add(id);
            return CompletableFuture.failedFuture(new IllegalStateException("no handlers for address"));
        };
        try (Arena arena = Arena.ofConfined(); KvPool pool = new KvPool(1, 4, 2, 1, 4)) {
            KvSenderManager senders = new KvSenderManager(engine, pool, new AuxBuffers(arena.allocate(
                    AuxBuffers.bytesFor(4)), 4), (id, st) -> reported.add(st), 3600 * SECOND, 0, 1,
                    TransferObserver.NONE, System::nanoTime, refusing);
            try {
                KvLayout layout = new KvLayout(1, pool.regionOffset(1, false), pool.pageBytes());
                SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "127.0.0.1", 1, 1 << 20, null);
                senders.onRegistration(new Messages.KvArgsRegistration("d0", d, layout, d, 4, 0, 1, "d1"));
                KvSender s = senders.create(3, false);
                senders.onTransferInfo(new Messages.TransferInfo(3, "d0", new int[] {1}, 0, 1, "d1"));
                senders.send(s, new int[] {0}, 0, true, 0);
                long deadline = System.nanoTime() + 10 * SECOND;
                while (reported.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertEquals(KvPoll.FAILED, senders.poll(s));
                assertTrue(s.failure().contains("no write lease from decode worker d0"), s.failure());
                assertEquals(List.of("d0"), asked);
                synchronized (written) {
                    assertEquals(List.of(), written, "nothing written without a lease");
                }
            } finally {
                senders.close();
            }
        }
    }
}
