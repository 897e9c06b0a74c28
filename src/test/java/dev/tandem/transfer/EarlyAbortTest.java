package dev.tandem.transfer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A room given up on before its pages were handed over ({@code init}): the prefill side is told all the same, since
 * it may hold the room's request (or get it next) and would otherwise end it only at its bootstrap timeout; our side
 * waits for nothing, as nothing of ours can be written.
 */
@Timeout(30)
class EarlyAbortTest {

    @Test
    void anAbortBeforeInitTellsThePrefillSideOnceAndWaitsForNothing() {
        LeaseFenceTest.Peer peer = new LeaseFenceTest.Peer(); // its abort replies fail: unreachable
        KvReceiverManager m = new KvReceiverManager(self(), peer, 3600_000_000_000L, 0);
        KvReceiver r = m.create(new Bootstrap("10.0.0.1", 8998, 7));
        m.abort(r, "Aborted by AbortReq.");
        assertEquals(List.of(7L), peer.aborts, "the prefill side hears it before any pages were handed over");
        assertEquals(KvPoll.FAILED, m.poll(r).status());
        assertTrue(r.quiet(), "nothing of ours can be written: the room ends at once, whatever the answer");
        m.abort(r, "again");
        assertEquals(List.of(7L), peer.aborts, "told once");
    }

    @Test
    void aFakeRoomHasNoPrefillSideToTell() {
        LeaseFenceTest.Peer peer = new LeaseFenceTest.Peer();
        KvReceiverManager m = new KvReceiverManager(self(), peer, 3600_000_000_000L, 0);
        KvReceiver r = m.create(new Bootstrap(Bootstrap.FAKE_HOST, 0, 0));
        m.abort(r, "health check timed out");
        assertEquals(List.of(), peer.aborts);
    }

    @Test
    void anAbortAfterInitStillWaitsForTheAcknowledgement() {
        LeaseFenceTest.Peer peer = new LeaseFenceTest.Peer();
        CompletableFuture<Boolean> ack = new CompletableFuture<>();
        peer.abortReply = ack;
        KvReceiverManager m = new KvReceiverManager(self(), peer, 3600_000_000_000L, 0);
        KvReceiver r = m.create(new Bootstrap("10.0.0.1", 8998, 8));
        m.init(r, new int[] {0, 1}, 0);
        m.abort(r, "Aborted by AbortReq.");
        assertEquals(List.of(8L), peer.aborts);
        assertEquals(false, m.poll(r).quiet(), "a push may still be writing our pages");
        ack.complete(true);
        assertTrue(m.poll(r).quiet());
    }

    private static Messages.KvArgsRegistration self() {
        SegmentDescriptor d = new SegmentDescriptor("kv", "h", null, "127.0.0.1", 1, 4096, null);
        return new Messages.KvArgsRegistration("d0", d, new KvLayout(1, 1024, 256), d, 4, 0, 1, "d1");
    }
}
