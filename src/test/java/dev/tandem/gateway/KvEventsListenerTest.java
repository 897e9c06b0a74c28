package dev.tandem.gateway;

import dev.tandem.gateway.policy.PrefixIndex;
import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.KvEventBatch;
import dev.tandem.kvevents.KvEventCodec;
import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import dev.tandem.config.ClusterSecret;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static dev.tandem.gateway.policy.KvTestData.batch;
import static dev.tandem.gateway.policy.KvTestData.removed;
import static dev.tandem.gateway.policy.KvTestData.seq;
import static dev.tandem.gateway.policy.KvTestData.snapshot;
import static dev.tandem.gateway.policy.KvTestData.stored;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The KV-events listener on a local event bus, with the test playing the workers (publisher and snapshots). */
@ExtendWith(VertxExtension.class)
class KvEventsListenerTest {
    private static final String W = "http://127.0.0.1:30001";
    private static final int BS = 4;
    private static final int[] P = seq(100, 16);
    private static final int[] Q = seq(300, 16);
    private static final int[] R = seq(500, 16);

    /** What a worker's snapshot service answers: the seq it covers, its epoch, its stored pages. */
    record Tree(long seq, String epoch, List<KvEvent> stored) {
    }

    static final BusSigner SIGNER = new BusSigner(ClusterSecret.of("kv-events-listener-test".getBytes(), "test"), null);

    /** Answers snapshot requests for {@code url} with {@code tree}, counting them. */
    static MessageConsumer<JsonObject> snapshots(Vertx vertx, String url, AtomicReference<Tree> tree,
                                                 AtomicInteger asked) {
        return snapshots(vertx, url, tree, asked, SIGNER);
    }

    /** As above, signing with {@code signer} (the secret of the gateway under test). */
    static MessageConsumer<JsonObject> snapshots(Vertx vertx, String url, AtomicReference<Tree> tree,
                                                 AtomicInteger asked, BusSigner signer) {
        return vertx.eventBus().<JsonObject>consumer(BusAddresses.kvEventsSnapshot(url), m -> {
            asked.incrementAndGet();
            Tree t = tree.get();
            signer.open(BusAddresses.kvEventsSnapshot(url), m.body());
            byte[] bytes = KvEventCodec.encode(snapshot(t.stored()), KvEventCodec.Format.SGLANG);
            m.reply(Buffer.buffer(bytes), signer.signBytes(BusAddresses.kvEventsSnapshotReply(m.body().getString("nonce")),
                    new DeliveryOptions().addHeader("seq", String.valueOf(t.seq())).addHeader("epoch", t.epoch()), bytes));
        });
    }

    static void publish(Vertx vertx, String url, long seq, String epoch, KvEventBatch b) {
        publish(vertx, SIGNER, url, seq, epoch, b);
    }

    static void publish(Vertx vertx, BusSigner signer, String url, long seq, String epoch, KvEventBatch b) {
        byte[] bytes = KvEventCodec.encode(b, KvEventCodec.Format.SGLANG);
        DeliveryOptions h = new DeliveryOptions().addHeader("worker", url).addHeader("seq", String.valueOf(seq))
                .addHeader("epoch", epoch);
        vertx.eventBus().publish(BusAddresses.KV_EVENTS, Buffer.buffer(bytes),
                signer == null ? h : signer.signBytes(BusAddresses.KV_EVENTS, h, bytes));
    }

    /** Polls {@code cond} for up to 10 s (the state it waits for is reached in well under a second). */
    static void await(String what, BooleanSupplier cond) throws InterruptedException {
        dev.tandem.Await.until(what, java.time.Duration.ofSeconds(10), cond);
    }

    static List<KvEvent> pages(int[] t, int from, int to) {
        return new ArrayList<>(stored(t, BS, from, to));
    }

    static List<KvEvent> plus(List<KvEvent> a, List<KvEvent> b) {
        List<KvEvent> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    @Test
    void rebuildsFromSnapshotsOnFirstContactOnAGapAndOnARestart(Vertx vertx) throws Exception {
        PrefixIndex index = new PrefixIndex();
        AtomicReference<Tree> tree = new AtomicReference<>(new Tree(-1, "e1", pages(P, 0, 1)));
        AtomicInteger asked = new AtomicInteger();
        snapshots(vertx, W, tree, asked).completion().await();
        KvEventsListener l = new KvEventsListener(vertx, SIGNER, index, () -> List.of(W), u -> true, () -> 0, 10_000, 60_000);
        l.start(0).await();

        l.tick().await(); // the worker is registered: first contact
        await("first snapshot", () -> l.snapshots() == 1);
        assertEquals(4, index.matchedTokens(W, P));

        publish(vertx, W, 0, "e1", batch(pages(P, 1, 2)));
        await("seq 0 applied", () -> index.matchedTokens(W, P) == 8);

        // seq 1 (Q's first page) is lost. The snapshot taken when seq 2 arrives covers seq 1 only, so the waiting
        // seq 2 (P's page 2) is applied on top of it.
        tree.set(new Tree(1, "e1", plus(pages(P, 0, 2), pages(Q, 0, 1))));
        publish(vertx, W, 2, "e1", batch(pages(P, 2, 3)));
        await("gap: second snapshot", () -> l.snapshots() == 2);
        assertEquals(12, index.matchedTokens(W, P));
        assertEquals(4, index.matchedTokens(W, Q));
        assertEquals(2, asked.get());
        publish(vertx, W, 3, "e1", batch(pages(Q, 1, 2)));
        publish(vertx, W, 3, "e1", batch(removed(Q, BS, 1))); // a duplicate seq is ignored
        publish(vertx, W, 4, "e1", batch(pages(P, 3, 4)));
        await("seq 4 applied", () -> index.matchedTokens(W, P) == 16);
        assertEquals(8, index.matchedTokens(W, Q));
        assertEquals(2, asked.get(), "no gap, no snapshot");

        // The worker restarted: a new epoch, seq from 0. Its old tree is gone; the snapshot (seq -1) holds R's
        // first page and the waiting seq 0 adds R's second.
        tree.set(new Tree(-1, "e2", pages(R, 0, 1)));
        publish(vertx, W, 0, "e2", batch(pages(R, 1, 2)));
        await("restart: third snapshot", () -> l.snapshots() == 3);
        assertEquals(0, index.matchedTokens(W, P));
        assertEquals(0, index.matchedTokens(W, Q));
        assertEquals(8, index.matchedTokens(W, R));
        assertEquals(2, index.size(W));
        assertEquals(3, asked.get());
        assertEquals(0, l.failures());
        l.stop();
    }

    @Test
    void withoutASnapshotServiceEventsApplyAsTheyComeAndAsksWaitTenSeconds(Vertx vertx) throws Exception {
        PrefixIndex index = new PrefixIndex();
        AtomicLong now = new AtomicLong(1_000_000);
        KvEventsListener l = new KvEventsListener(vertx, SIGNER, index, () -> List.of(W), u -> true, now::get, 10_000,
                60_000);
        l.start(0).await();
        l.tick().await();
        await("no handler: the ask fails", () -> l.failures() == 1);

        publish(vertx, W, 5, "e1", batch(pages(P, 0, 1)));
        publish(vertx, W, 7, "e1", batch(pages(P, 1, 2))); // a gap, but no snapshot to be had for 10 s
        await("best effort", () -> index.matchedTokens(W, P) == 8);

        AtomicReference<Tree> tree = new AtomicReference<>(new Tree(7, "e1", pages(Q, 0, 2)));
        AtomicInteger asked = new AtomicInteger();
        snapshots(vertx, W, tree, asked).completion().await();
        l.tick().await();
        publish(vertx, W, 9, "e1", batch(pages(P, 2, 3)));
        await("still best effort", () -> index.matchedTokens(W, P) == 12);
        assertEquals(0, asked.get(), "not asked again within 10 s");

        now.addAndGet(10_000);
        l.tick().await();
        await("asked after 10 s", () -> l.snapshots() == 1);
        assertEquals(1, asked.get());
        assertEquals(0, index.matchedTokens(W, P));
        assertEquals(8, index.matchedTokens(W, Q));
        l.stop();
    }

    @Test
    void unknownWorkersAreIgnoredAndAWorkerUnhealthyAndSilentForAMinuteIsForgotten(Vertx vertx) throws Exception {
        PrefixIndex index = new PrefixIndex();
        AtomicLong now = new AtomicLong(1_000_000);
        AtomicBoolean up = new AtomicBoolean(true);
        AtomicReference<Tree> tree = new AtomicReference<>(new Tree(-1, "e1", pages(P, 0, 2)));
        AtomicInteger asked = new AtomicInteger();
        snapshots(vertx, W, tree, asked).completion().await();
        KvEventsListener l = new KvEventsListener(vertx, SIGNER, index, () -> List.of(W), u -> up.get(), now::get, 10_000,
                60_000);
        l.start(0).await();
        l.tick().await();
        await("first snapshot", () -> l.snapshots() == 1);

        String stranger = "http://127.0.0.1:39999";
        publish(vertx, stranger, 0, "x", batch(pages(Q, 0, 2)));
        publish(vertx, W, 0, "e1", batch(pages(P, 2, 3)));
        await("seq 0 applied", () -> index.matchedTokens(W, P) == 12);
        assertEquals(0, index.size(stranger), "not a worker of a cache_aware pool");

        up.set(false);
        l.tick().await();
        now.addAndGet(59_999);
        l.tick().await();
        assertEquals(3, index.size(W), "unhealthy for less than a minute: kept");
        now.addAndGet(1);
        l.tick().await();
        assertEquals(0, index.size(W));
        assertEquals(0, index.blockSize(W), "forgotten entirely");

        up.set(true);
        l.tick().await();
        await("back: rebuilt from a snapshot", () -> l.snapshots() == 2);
        assertEquals(8, index.matchedTokens(W, P));
        assertEquals(2, asked.get());
        l.stop();
    }

    /**
     * A cluster member without the secret (or replaying a real batch) cannot move the index: unsigned batches,
     * batches signed with another secret, altered batches and replays are dropped and counted; a forged snapshot
     * reply is a failed snapshot.
     */
    @Test
    void forgedReplayedAndAlteredBatchesAreIgnoredAndCounted(Vertx vertx) throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BusSigner listenerSigner = new BusSigner(ClusterSecret.of("kv-events-listener-test".getBytes(), "test"),
                meters);
        PrefixIndex index = new PrefixIndex();
        AtomicReference<Tree> tree = new AtomicReference<>(new Tree(-1, "e1", pages(P, 0, 1)));
        AtomicInteger asked = new AtomicInteger();
        snapshots(vertx, W, tree, asked).completion().await();
        KvEventsListener l = new KvEventsListener(vertx, listenerSigner, index, () -> List.of(W), u -> true, () -> 0,
                10_000, 60_000);
        l.start(0).await();
        l.tick().await();
        await("first snapshot", () -> l.snapshots() == 1);
        assertEquals(4, index.matchedTokens(W, P));

        BusSigner stranger = new BusSigner(ClusterSecret.of("some-other-cluster-secret".getBytes(), "x"), null);
        publish(vertx, null, W, 0, "e1", batch(pages(Q, 0, 2)));          // unsigned
        publish(vertx, stranger, W, 0, "e1", batch(pages(Q, 0, 2)));      // another secret
        // Altered: signed for seq 0, delivered as seq 5 (the headers are covered by the MAC).
        byte[] bytes = KvEventCodec.encode(batch(pages(Q, 0, 2)), KvEventCodec.Format.SGLANG);
        DeliveryOptions signed = SIGNER.signBytes(BusAddresses.KV_EVENTS, new DeliveryOptions()
                .addHeader("worker", W).addHeader("seq", "0").addHeader("epoch", "e1"), bytes);
        signed.getHeaders().set("seq", "5");
        vertx.eventBus().publish(BusAddresses.KV_EVENTS, Buffer.buffer(bytes), signed);
        // Replayed: one genuine batch delivered twice; the second copy must be refused as a replay.
        byte[] real = KvEventCodec.encode(batch(pages(P, 1, 2)), KvEventCodec.Format.SGLANG);
        DeliveryOptions once = SIGNER.signBytes(BusAddresses.KV_EVENTS, new DeliveryOptions()
                .addHeader("worker", W).addHeader("seq", "0").addHeader("epoch", "e1"), real);
        vertx.eventBus().publish(BusAddresses.KV_EVENTS, Buffer.buffer(real), once);
        vertx.eventBus().publish(BusAddresses.KV_EVENTS, Buffer.buffer(real), once);
        await("the genuine batch applied", () -> index.matchedTokens(W, P) == 8);
        await("four refusals counted", () -> meters.find(dev.tandem.metrics.Meters.BUS_REJECTED).counters().stream()
                .mapToDouble(c -> c.count()).sum() == 4);
        assertEquals(0, index.matchedTokens(W, Q), "nothing of the forged batches reached the index");
        assertEquals(1, meters.counter(dev.tandem.metrics.Meters.BUS_REJECTED, "reason", "unsigned").count());
        assertEquals(2, meters.counter(dev.tandem.metrics.Meters.BUS_REJECTED, "reason", "bad_signature").count());
        assertEquals(1, meters.counter(dev.tandem.metrics.Meters.BUS_REJECTED, "reason", "replay").count());
        l.stop();
    }
}
