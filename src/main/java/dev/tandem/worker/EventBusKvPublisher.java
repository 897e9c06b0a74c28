package dev.tandem.worker;

import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import dev.tandem.kvevents.EventPublisher;
import dev.tandem.kvevents.KvEventBatch;
import dev.tandem.kvevents.KvEventCodec;
import dev.tandem.kvevents.KvEventsConfig;
import dev.tandem.scheduler.SchedulerLoop;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;

/**
 * The {@code eventbus} KV-event publisher: each batch is published to the whole cluster on
 * {@value BusAddresses#KV_EVENTS} as msgpack (the configured wire format) with headers {@code worker} (this worker's
 * HTTP URL, as gateways know it), {@code seq} (from 0, consecutive) and {@code epoch} (new at every start, so a
 * restart is visible). A consumer that missed batches asks {@link BusAddresses#kvEventsSnapshot} for the whole tree:
 * the reply carries the tree as one batch and the {@code seq} of the last batch it already includes.
 * Batches before {@link #bind} (before the HTTP port is known) are dropped but still take a seq, so a consumer sees
 * the gap and asks for a snapshot. Everything is signed with the cluster secret (a member without it could otherwise
 * steer cache-aware routing with invented events).
 */
public final class EventBusKvPublisher implements EventPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(EventBusKvPublisher.class);

    private final Vertx vertx;
    private final KvEventCodec.Format format;
    private final String epoch = UUID.randomUUID().toString();
    private volatile String workerUrl;
    private volatile BusSigner signer;
    private volatile MessageConsumer<JsonObject> snapshots;
    private long seq; // scheduler thread only: publish() is called there

    /** The tree as one batch, and the seq of the last published batch it includes (read on the scheduler thread). */
    private record Snapshot(KvEventBatch batch, long lastSeq) {
    }

    public EventBusKvPublisher(Vertx vertx, KvEventsConfig cfg) {
        this.vertx = vertx;
        this.format = cfg.wireFormat();
    }

    /**
     * Starts publishing under {@code url} and answers snapshot requests from {@code loop}'s scheduler. Batches and
     * snapshots are signed with {@code signer} (headers, see {@link BusSigner#signBytes}); a snapshot request must be
     * a sealed envelope, and its reply is signed for the request's nonce.
     */
    public void bind(String url, SchedulerLoop loop, BusSigner signer) {
        this.signer = signer;
        this.workerUrl = url;
        String address = BusAddresses.kvEventsSnapshot(url);
        snapshots = vertx.eventBus().consumer(address, msg -> {
            try {
                signer.open(address, msg.body());
            } catch (BusSigner.Rejected e) {
                LOG.warn("KV snapshot request on {}: {}", address, e.getMessage());
                msg.fail(401, e.reason());
                return;
            }
            String replyTo = BusAddresses.kvEventsSnapshotReply(msg.body().getString("nonce"));
            loop.runAfterEvents(s -> new Snapshot(new KvEventBatch(System.currentTimeMillis() / 1000.0,
                    s.kvSnapshot(), 0), seq - 1)).whenComplete((snap, err) -> {
                if (err != null) {
                    msg.fail(500, "snapshot failed: " + err.getMessage());
                    return;
                }
                byte[] bytes = KvEventCodec.encode(snap.batch(), format);
                msg.reply(Buffer.buffer(bytes), signer.signBytes(replyTo, headers(snap.lastSeq()), bytes));
            });
        });
    }

    @Override
    public void publish(KvEventBatch batch) {
        long mySeq = seq++;
        String url = workerUrl;
        if (url == null) {
            return;
        }
        byte[] bytes = KvEventCodec.encode(batch, format);
        vertx.eventBus().publish(BusAddresses.KV_EVENTS, Buffer.buffer(bytes),
                signer.signBytes(BusAddresses.KV_EVENTS, headers(mySeq), bytes));
    }

    private DeliveryOptions headers(long s) {
        return new DeliveryOptions().addHeader("worker", workerUrl).addHeader("seq", Long.toString(s))
                .addHeader("epoch", epoch);
    }

    @Override
    public void close() {
        MessageConsumer<JsonObject> c = snapshots;
        if (c != null) {
            c.unregister().onFailure(e -> LOG.debug("snapshot consumer: {}", e.getMessage()));
        }
    }
}
