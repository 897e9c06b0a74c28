package dev.tandem.transfer;

import dev.tandem.kvcache.KvPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A peer that restarts on the same address is noticed by its incarnation, at once: the decode side fails the rooms
 * of the prefill's previous life and registers afresh; the prefill side never pushes a room of a decode worker's
 * previous life into its new pool. No timeouts involved (both are set to an hour).
 */
@Timeout(30)
class IncarnationTest {
    private static final long HOUR = 3_600_000_000_000L;

    /** A prefill worker's bootstrap service as the decode side sees it: answers as its current incarnation. */
    static class FakePrefill implements KvReceiverManager.BootstrapClient {
        final AtomicReference<String> incarnation = new AtomicReference<>("p1");
        final List<String> registrations = new CopyOnWriteArrayList<>();

        @Override
        public CompletionStage<String> register(String address, Messages.KvArgsRegistration registration) {
            registrations.add(address + "@" + incarnation.get());
            return CompletableFuture.completedFuture(incarnation.get());
        }

        @Override
        public CompletionStage<String> sendTransferInfo(String address, Messages.TransferInfo info) {
            return CompletableFuture.completedFuture(incarnation.get());
        }

        @Override
        public CompletionStage<Boolean> abortRoom(String address, Messages.AbortRoom abort) {
            return CompletableFuture.completedFuture(true);
        }
    }

    private static Messages.KvArgsRegistration self(String incarnation) {
        SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "127.0.0.1", 1, 4096, null);
        return new Messages.KvArgsRegistration("d0", d, new KvLayout(1, 1024, 256), d, 4, 0, 1, incarnation);
    }

    @Test
    void aRestartedPrefillFailsItsOldRoomsAtOnceAndNewRoomsReRegister() {
        FakePrefill prefill = new FakePrefill();
        KvReceiverManager m = new KvReceiverManager(self("d1"), prefill, HOUR, 0);
        KvReceiver old = m.create(new Bootstrap("10.0.0.1", 8998, 1));
        m.init(old, new int[] {0, 1}, 0);
        KvReceiver done = m.create(new Bootstrap("10.0.0.1", 8998, 2));
        m.onStatus(new Messages.TransferStatus(2, KvPoll.SUCCESS, 0, null));
        m.onPeerIncarnation("10.0.0.1:8998", "p1"); // a heartbeat from the same life changes nothing
        assertEquals(KvPoll.WAITING_FOR_INPUT, old.status());
        assertEquals(List.of("10.0.0.1:8998@p1"), prefill.registrations);

        prefill.incarnation.set("p2"); // killed and restarted on the same ports
        m.onPeerIncarnation("10.0.0.1:8998", "p2"); // the next heartbeat
        assertEquals(KvPoll.FAILED, old.status());
        assertTrue(old.failure().contains("restarted"), old.failure());
        assertTrue(old.quiet(), "the old process is gone: the room's pages may be freed");
        assertEquals(KvPoll.SUCCESS, done.status(), "a finished room keeps its KV");

        KvReceiver fresh = m.create(new Bootstrap("10.0.0.1", 8998, 3));
        assertEquals(List.of("10.0.0.1:8998@p1", "10.0.0.1:8998@p2"), prefill.registrations, "registered afresh");
        assertEquals(KvPoll.WAITING_FOR_INPUT, fresh.status());
        m.init(fresh, new int[] {2}, 1);
        m.onPeerIncarnation("10.0.0.1:8998", "p2");
        assertEquals(KvPoll.WAITING_FOR_INPUT, fresh.status());
    }

    @Test
    void aTransferInfoAnsweredByANewIncarnationRegistersAgainAndTheRoomGoesOn() {
        FakePrefill prefill = new FakePrefill();
        KvReceiverManager m = new KvReceiverManager(self("d1"), prefill, HOUR, 0);
        KvReceiver before = m.create(new Bootstrap("10.0.0.1", 8998, 1));
        m.init(before, new int[] {0}, 0);
        KvReceiver r = m.create(new Bootstrap("10.0.0.1", 8998, 2));
        prefill.incarnation.set("p2"); // restarted between our registration and this room's info
        m.init(r, new int[] {1}, 1);
        assertEquals(KvPoll.FAILED, before.status(), "a room of the previous life is lost");
        assertTrue(before.failure().contains("restarted"), before.failure());
        assertEquals(KvPoll.WAITING_FOR_INPUT, r.status(), "the new process holds this room's info");
        assertEquals(List.of("10.0.0.1:8998@p1", "10.0.0.1:8998@p2"), prefill.registrations, "registered again");
        m.onPeerIncarnation("10.0.0.1:8998", "p2");
        assertEquals(KvPoll.WAITING_FOR_INPUT, r.status());
    }

    /** A frame C lost on the bus: the decode side's next heartbeat asks how its rooms ended and hears it. */
    @Test
    void anOutcomeLostOnTheBusArrivesWithTheNextHeartbeat() throws Exception {
        List<Messages.TransferStatus> dropped = new CopyOnWriteArrayList<>();
        TransferEngine engine = new ScriptedTransferEngine((remote, ops) -> 0, () -> { });
        try (Arena arena = Arena.ofConfined(); KvPool pool = new KvPool(1, 4, 2, 1, 4)) {
            KvSenderManager senders = new KvSenderManager(engine, pool, new AuxBuffers(arena.allocate(
                    AuxBuffers.bytesFor(4)), 4), (id, st) -> dropped.add(st), HOUR, 0, 1, TransferObserver.NONE);
            try {
                KvLayout layout = new KvLayout(1, pool.regionOffset(1, false), pool.pageBytes());
                SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "127.0.0.1", 1, 1 << 20, null);
                senders.onRegistration(new Messages.KvArgsRegistration("d0", d, layout, d, 4, 0, 1, "d1"));
                KvSender s = senders.create(11, false);
                senders.onTransferInfo(new Messages.TransferInfo(11, "d0", new int[] {1}, 0, 1, "d1"));
                senders.send(s, new int[] {0}, 0, true, 0);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (dropped.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertEquals(KvPoll.SUCCESS, dropped.getFirst().status(), "frame C was sent (and lost)");

                FakePrefill prefill = new FakePrefill();
                KvReceiverManager m = new KvReceiverManager(self("d1"), prefill, HOUR, 0);
                KvReceiver r = m.create(new Bootstrap("10.0.0.1", 8998, 11));
                m.create(new Bootstrap("10.0.0.1", 8998, 12)); // still in flight there
                m.init(r, new int[] {1}, 0);
                assertEquals(List.of(11L, 12L), m.roomsInFlight("10.0.0.1:8998").stream().sorted().toList());
                senders.reportedOutcomes(m.roomsInFlight("10.0.0.1:8998")).forEach(m::onStatus);
                assertEquals(KvPoll.SUCCESS, r.status());
                assertTrue(r.quiet());
                assertEquals(List.of(12L), m.roomsInFlight("10.0.0.1:8998"), "an unfinished room is not reported");
            } finally {
                senders.close();
            }
        }
    }

    /** The prefill side of the same story: an info from a worker it does not know waits for that registration. */
    @Test
    void aTransferInfoBeforeItsRegistrationWaitsForIt() throws Exception {
        TransferEngine engine = new ScriptedTransferEngine((remote, ops) -> 0, () -> { });
        try (Arena arena = Arena.ofConfined(); KvPool pool = new KvPool(1, 4, 2, 1, 4)) {
            KvSenderManager senders = new KvSenderManager(engine, pool, new AuxBuffers(arena.allocate(
                    AuxBuffers.bytesFor(4)), 4), (id, st) -> { }, HOUR, 0, 1, TransferObserver.NONE);
            try {
                KvLayout layout = new KvLayout(1, pool.regionOffset(1, false), pool.pageBytes());
                SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "127.0.0.1", 1, 1 << 20, null);
                KvSender s = senders.create(4, false);
                senders.onTransferInfo(new Messages.TransferInfo(4, "d0", new int[] {1}, 0, 1, "d1"));
                assertEquals(KvPoll.BOOTSTRAPPING, senders.poll(s), "no registration yet: nothing to push into");
                senders.onRegistration(new Messages.KvArgsRegistration("d0", d, layout, d, 4, 0, 1, "d1"));
                assertEquals(KvPoll.WAITING_FOR_INPUT, senders.poll(s));
            } finally {
                senders.close();
            }
        }
    }

    @Test
    void roomsOfADecodeWorkersPreviousLifeAreNeverPushedIntoItsNewPool() throws Exception {
        List<String> reported = new CopyOnWriteArrayList<>();
        List<String> written = new ArrayList<>();
        TransferEngine engine = new ScriptedTransferEngine((remote, ops) -> { // records where each write lands
            synchronized (written) {
                ops.forEach(o -> written.add(remote.name() + ":" + o.dstOffset()));
            }
            return 0;
        }, () -> { });
        try (Arena arena = Arena.ofConfined(); KvPool pool = new KvPool(1, 4, 2, 1, 4)) {
            MemorySegment auxMem = arena.allocate(AuxBuffers.bytesFor(4));
            KvSenderManager senders = new KvSenderManager(engine, pool, new AuxBuffers(auxMem, 4),
                    (id, st) -> reported.add(id + " " + st.room() + " " + st.status()), HOUR, 0, 1,
                    TransferObserver.NONE);
            try {
                KvLayout layout = new KvLayout(1, pool.regionOffset(1, false), pool.pageBytes());
                SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "127.0.0.1", 1, 1 << 20, null);
                SegmentDescriptor a = new SegmentDescriptor("aux", "h", null, "127.0.0.1", 1, 1 << 20, null);
                senders.onRegistration(new Messages.KvArgsRegistration("d0", d, layout, a, 4, 0, 1, "d1"));
                KvSender before = senders.create(7, false);
                senders.onTransferInfo(new Messages.TransferInfo(7, "d0", new int[] {3}, 0, 1, "d1"));
                assertEquals(KvPoll.WAITING_FOR_INPUT, senders.poll(before));
                // An info of room 8 from the old life arrives early (before the request), then the worker restarts.
                senders.onTransferInfo(new Messages.TransferInfo(8, "d0", new int[] {2}, 0, 1, "d1"));
                senders.onRegistration(new Messages.KvArgsRegistration("d0", d, layout, a, 4, 0, 1, "d2"));
                assertEquals(KvPoll.FAILED, senders.poll(before));
                assertTrue(before.failure().contains("restarted"), before.failure());
                KvSender early = senders.create(8, false);
                assertEquals(KvPoll.BOOTSTRAPPING, senders.poll(early), "its old info was dropped, not attached");
                // A stale info (old incarnation) that arrives after the new registration fails its room.
                KvSender stale = senders.create(9, false);
                senders.onTransferInfo(new Messages.TransferInfo(9, "d0", new int[] {1}, 0, 1, "d1"));
                assertEquals(KvPoll.FAILED, senders.poll(stale));
                senders.send(before, new int[] {0}, 0, true, 0);
                senders.send(stale, new int[] {0}, 0, true, 0);
                KvSender now = senders.create(10, false);
                senders.onTransferInfo(new Messages.TransferInfo(10, "d0", new int[] {1}, 0, 1, "d2"));
                senders.send(now, new int[] {0}, 0, true, 0);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (senders.poll(now) != KvPoll.SUCCESS && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertEquals(KvPoll.SUCCESS, senders.poll(now));
                synchronized (written) {
                    // only room 10's destination page 1 (its K and V) was written, then its aux row
                    assertEquals(List.of("kv:" + pool.pageBytes(), "kv:" + (layout.regionBytes() + pool.pageBytes())),
                            written.stream().filter(w -> w.startsWith("kv:")).toList());
                    assertTrue(written.stream().anyMatch(w -> w.startsWith("aux:")), written.toString());
                }
            } finally {
                senders.close();
            }
        }
    }

    /** A room that waited too long tells the prefill side and keeps its pages until the abort is acknowledged. */
    @Test
    void aWaitingTimeoutAbortsThePrefillSideBeforeThePagesAreFreed() {
        List<Long> aborted = new CopyOnWriteArrayList<>();
        CompletableFuture<Boolean> ack = new CompletableFuture<>();
        FakePrefill prefill = new FakePrefill() {
            @Override
            public CompletionStage<Boolean> abortRoom(String address, Messages.AbortRoom abort) {
                aborted.add(abort.room());
                return ack;
            }
        };
        KvReceiverManager m = new KvReceiverManager(self("d1"), prefill, 1, 0); // a 1 ns waiting timeout
        KvReceiver r = m.create(new Bootstrap("10.0.0.1", 8998, 5));
        m.init(r, new int[] {0}, 0);
        m.poll(r);
        assertEquals(KvPoll.FAILED, r.status());
        assertTrue(r.failure().contains("timed out"), r.failure());
        assertEquals(List.of(5L), aborted, "the prefill side was told");
        assertTrue(!r.quiet(), "its pages stay reserved while a push may be in flight");
        m.poll(r);
        assertEquals(List.of(5L), aborted, "told once");
        ack.complete(false); // the prefill side stopped; its FAILED report follows
        m.onStatus(new Messages.TransferStatus(5, KvPoll.FAILED, 0, "aborted"));
        assertTrue(r.quiet());
    }

    /** A decode worker that stopped reading holds only its own lane: pushes to another decode worker go on. */
    @Test
    void aStalledPeerDoesNotBlockPushesToOthers() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        TransferEngine engine = new ScriptedTransferEngine((remote, ops) -> {
            if (!remote.tcpHost().equals("10.0.0.66")) {
                return 0;
            }
            try { // the stalled peer: blocks until released
                return release.await(20, java.util.concurrent.TimeUnit.SECONDS) ? 0 : -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }, release::countDown);
        try (Arena arena = Arena.ofConfined(); KvPool pool = new KvPool(1, 8, 2, 1, 4)) {
            KvSenderManager senders = new KvSenderManager(engine, pool, new AuxBuffers(arena.allocate(
                    AuxBuffers.bytesFor(8)), 8), (id, st) -> { }, HOUR, 0, 2, TransferObserver.NONE);
            try {
                KvLayout layout = new KvLayout(1, pool.regionOffset(1, false), pool.pageBytes());
                SegmentDescriptor stalled = new SegmentDescriptor("kv", "h", null, "10.0.0.66", 1, 1 << 20, null);
                SegmentDescriptor fine = new SegmentDescriptor("kv", "h", null, "10.0.0.77", 1, 1 << 20, null);
                senders.onRegistration(new Messages.KvArgsRegistration("slow", stalled, layout, stalled, 8, 0, 1, "s1"));
                senders.onRegistration(new Messages.KvArgsRegistration("fast", fine, layout, fine, 8, 0, 1, "f1"));
                List<KvSender> stuck = new ArrayList<>();
                for (long room = 1; room <= 4; room++) { // more stuck rooms than lane threads
                    KvSender s = senders.create(room, false);
                    senders.onTransferInfo(new Messages.TransferInfo(room, "slow", new int[] {0}, 0, 1, "s1"));
                    senders.send(s, new int[] {0}, 0, true, 0);
                    stuck.add(s);
                }
                KvSender other = senders.create(9, false);
                senders.onTransferInfo(new Messages.TransferInfo(9, "fast", new int[] {1}, 1, 1, "f1"));
                senders.send(other, new int[] {1}, 0, true, 1);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (senders.poll(other) != KvPoll.SUCCESS && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertEquals(KvPoll.SUCCESS, senders.poll(other), "the other peer's room went through");
                assertTrue(stuck.stream().noneMatch(s -> senders.poll(s).concluded()), "the stalled ones still wait");
                assertEquals(2, senders.lanes());
                release.countDown();
                senders.failDecodeWorker("slow", "gone");
                assertEquals(1, senders.lanes(), "a departed peer's lane is released");
            } finally {
                senders.close();
            }
        }
    }
}
