package dev.tandem.gateway;

import dev.tandem.gateway.policy.PrefixIndex;
import dev.tandem.kvevents.KvEventBatch;
import dev.tandem.kvevents.KvEventCodec;
import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Feeds a {@link PrefixIndex} from the KV events workers publish on {@code tandem.kv-events} (body: one msgpack
 * batch; headers {@code worker} = its registered URL, {@code seq} from 0 and consecutive, {@code epoch} per process).
 * Per worker it applies batches in seq order and rebuilds from a snapshot (an event-bus request to
 * {@code tandem.kv-events.snapshot.<url>}, answered with a clear plus every stored block, and the seq it covers) when
 * it first hears of the worker, when a seq is missing, and when the epoch changes (the worker restarted). Batches
 * that arrive while a snapshot is on its way wait and are applied after it, those it covers skipped.
 *
 * <p>A worker that answers no snapshot (it publishes no events, or not this way) is asked again at most every
 * {@code retryMs}; meanwhile whatever events it sends are applied as they come (best effort: a missed batch may
 * leave stale blocks until the next snapshot). Only workers of the pools routed by cache_aware are tracked. A worker
 * unhealthy and silent for {@code dropAfterMs} is forgotten (its index freed); if it comes back it is rebuilt from a
 * snapshot. State is confined to one event loop; the index itself is thread-safe.
 */
final class KvEventsListener {
    static final long RETRY_MS = 10_000;
    static final long DROP_AFTER_MS = 60_000;
    private static final long SNAPSHOT_TIMEOUT_MS = 30_000;
    private static final int MAX_WAITING = 10_000;
    private static final Logger LOG = LoggerFactory.getLogger(KvEventsListener.class);

    private record Waiting(long seq, String epoch, KvEventBatch batch) {
    }

    private record Snapshot(long seq, String epoch) {
    }

    /** One worker's stream. */
    private static final class Stream {
        String epoch;
        long lastSeq = -1;
        boolean synced; // the index equals the worker's tree as of lastSeq
        boolean asking; // a snapshot request is on its way
        boolean rechecking; // the last snapshot's epoch disagreed with the batches': asked once more
        long retryAtMs;
        long heardAtMs;
        long unhealthySinceMs = -1;
        final List<Waiting> waiting = new ArrayList<>();
    }

    private final Vertx vertx;
    private final PrefixIndex index;
    private final Supplier<Collection<String>> workers;
    private final Predicate<String> healthy;
    private final LongSupplier clockMs;
    private final long retryMs;
    private final long dropAfterMs;
    private final Map<String, Stream> streams = new HashMap<>();
    private Context context;
    private MessageConsumer<Buffer> consumer;
    private long timer = -1;
    private final BusSigner signer;
    private volatile long snapshots; // written on the event loop, read by tests and logs
    private volatile long failures;

    /**
     * @param workers the URLs whose events count (the pools routed by cache_aware)
     * @param clockMs milliseconds, for retries and drops (tests pass their own)
     */
    KvEventsListener(Vertx vertx, BusSigner signer, PrefixIndex index, Supplier<Collection<String>> workers,
                     Predicate<String> healthy, LongSupplier clockMs, long retryMs, long dropAfterMs) {
        this.vertx = vertx;
        this.signer = signer;
        this.index = index;
        this.workers = workers;
        this.healthy = healthy;
        this.clockMs = clockMs;
        this.retryMs = retryMs;
        this.dropAfterMs = dropAfterMs;
    }

    /** Subscribes, and checks the worker list every {@code tickMs} (0: only when {@link #tick()} is called). */
    Future<Void> start(long tickMs) {
        context = vertx.getOrCreateContext();
        Promise<Void> started = Promise.promise();
        context.runOnContext(v -> {
            consumer = vertx.eventBus().consumer(BusAddresses.KV_EVENTS, this::onMessage);
            if (tickMs > 0) {
                timer = vertx.setPeriodic(tickMs, t -> check());
            }
            consumer.completion().onComplete(started);
        });
        return started.future();
    }

    /** Runs one check of the worker list on the listener's event loop. */
    Future<Void> tick() {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            check();
            done.complete();
        });
        return done.future();
    }

    /** Snapshots applied so far. */
    long snapshots() {
        return snapshots;
    }

    /** Snapshot requests that got no answer (no handler, timeout, undecodable). */
    long failures() {
        return failures;
    }

    void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        if (consumer != null) {
            consumer.unregister();
        }
    }

    private void onMessage(Message<Buffer> m) {
        try {
            signer.verifyBytes(BusAddresses.KV_EVENTS, m.headers(), m.body().getBytes());
        } catch (BusSigner.Rejected e) {
            LOG.debug("KV events: {}", e.getMessage());
            return; // counted by the signer; a forged batch must not move the index
        }
        String url = m.headers().get("worker");
        long seq = parseSeq(m.headers().get("seq"));
        String epoch = m.headers().get("epoch");
        if (url == null || seq < 0) {
            return; // not from a publisher that follows the contract
        }
        url = url.replaceAll("/+$", "");
        if (!workers.get().contains(url)) {
            return; // not (yet) a worker of a cache_aware pool: registration brings a snapshot
        }
        KvEventBatch batch;
        try {
            batch = KvEventCodec.decode(m.body().getBytes());
        } catch (RuntimeException e) {
            LOG.debug("undecodable KV events from {} (seq {}): {}", url, seq, e.getMessage());
            return; // counts as lost: the next batch sees a gap
        }
        Stream s = streams.computeIfAbsent(url, u -> new Stream());
        long now = clockMs.getAsLong();
        s.heardAtMs = now;
        if (epoch != null && s.epoch != null && !epoch.equals(s.epoch)) {
            LOG.info("KV events: {} restarted (epoch {} -> {}), rebuilding its index", url, s.epoch, epoch);
            index.clear(url);
            s.synced = false;
            s.lastSeq = -1;
            s.waiting.clear();
            s.retryAtMs = 0;
        }
        if (epoch != null) {
            s.epoch = epoch;
        }
        if (s.asking) {
            hold(s, new Waiting(seq, epoch, batch));
        } else if (s.synced && seq <= s.lastSeq) {
            return; // already covered
        } else if (s.synced && seq == s.lastSeq + 1) {
            apply(url, s, seq, batch);
        } else if (now >= s.retryAtMs) { // first batch heard, or a gap
            hold(s, new Waiting(seq, epoch, batch));
            ask(url, s);
        } else { // no snapshot to be had lately: best effort
            apply(url, s, seq, batch);
        }
    }

    private void check() {
        long now = clockMs.getAsLong();
        Set<String> urls = new HashSet<>(workers.get());
        for (String url : urls) {
            boolean up = healthy.test(url);
            Stream s = streams.get(url);
            if (s == null && !up) {
                continue; // asked once it is healthy
            }
            if (s == null) {
                s = new Stream();
                streams.put(url, s);
            }
            s.unhealthySinceMs = up ? -1 : s.unhealthySinceMs < 0 ? now : s.unhealthySinceMs;
            if (up && !s.synced && !s.asking && now >= s.retryAtMs) {
                ask(url, s);
            }
        }
        for (Iterator<Map.Entry<String, Stream>> it = streams.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Stream> e = it.next();
            Stream s = e.getValue();
            boolean gone = !urls.contains(e.getKey()) || (s.unhealthySinceMs >= 0
                    && now - s.unhealthySinceMs >= dropAfterMs && now - s.heardAtMs >= dropAfterMs);
            if (gone && !s.asking) { // a snapshot on its way would refill the index after the drop
                LOG.info("KV events: forgetting {} (unhealthy and silent)", e.getKey());
                index.remove(e.getKey());
                it.remove();
            }
        }
    }

    private void ask(String url, Stream s) {
        s.asking = true;
        JsonObject request = signer.seal(BusAddresses.kvEventsSnapshot(url), new JsonObject());
        vertx.eventBus().<Buffer>request(BusAddresses.kvEventsSnapshot(url), request,
                new DeliveryOptions().setSendTimeout(SNAPSHOT_TIMEOUT_MS)).compose(reply -> {
            byte[] bytes = reply.body().getBytes();
            // The reply must be signed for this request's nonce: a forged or replayed snapshot is a failure.
            signer.verifyBytes(BusAddresses.kvEventsSnapshotReply(request.getString("nonce")), reply.headers(), bytes);
            long seq = parseSeq(reply.headers().get("seq")); // -1: nothing published before it
            String epoch = reply.headers().get("epoch");
            // Decoding and building a large tree takes a while: off the event loop, outside the index's lock.
            return vertx.executeBlocking(() -> {
                index.replace(url, KvEventCodec.decode(bytes));
                return new Snapshot(seq, epoch);
            }, false);
        }).onComplete(ar -> answered(url, s, ar));
    }

    private void answered(String url, Stream s, AsyncResult<Snapshot> ar) {
        s.asking = false;
        List<Waiting> waiting = new ArrayList<>(s.waiting);
        s.waiting.clear();
        waiting.sort(Comparator.comparingLong(Waiting::seq));
        if (ar.failed()) {
            failures++;
            LOG.debug("KV events: no snapshot from {} ({}); next try in {} ms", url, ar.cause().getMessage(), retryMs);
            s.synced = false;
            s.rechecking = false;
            s.retryAtMs = clockMs.getAsLong() + retryMs;
            for (Waiting w : waiting) {
                apply(url, s, w.seq(), w.batch());
            }
            return;
        }
        Snapshot snap = ar.result();
        if (snap.epoch() != null && s.epoch != null && !snap.epoch().equals(s.epoch) && !s.rechecking) {
            // The worker restarted around the snapshot, and which of it and the latest batches is newer cannot be
            // told: ask once more, keeping the batches of the latest epoch heard. The second answer is taken as is.
            s.rechecking = true;
            index.clear(url);
            String latest = s.epoch;
            waiting.removeIf(w -> w.epoch() != null && !w.epoch().equals(latest));
            s.waiting.addAll(waiting);
            ask(url, s);
            return;
        }
        // The snapshot is the truth as of its seq, in its epoch; batches of another epoch are another process's.
        s.rechecking = false;
        s.epoch = snap.epoch() != null ? snap.epoch() : s.epoch;
        s.lastSeq = snap.seq();
        s.synced = true;
        s.retryAtMs = 0;
        for (int i = 0; i < waiting.size(); i++) {
            Waiting w = waiting.get(i);
            if ((w.epoch() != null && !w.epoch().equals(s.epoch)) || w.seq() <= s.lastSeq) {
                continue;
            }
            if (w.seq() != s.lastSeq + 1) { // a gap among the waiting batches: ask again, keep the rest
                s.waiting.addAll(waiting.subList(i, waiting.size()));
                snapshots++;
                ask(url, s);
                return;
            }
            apply(url, s, w.seq(), w.batch());
        }
        snapshots++; // last: whoever sees the count sees the waiting batches applied too
    }

    private void apply(String url, Stream s, long seq, KvEventBatch batch) {
        index.apply(url, batch);
        s.lastSeq = seq;
    }

    private static void hold(Stream s, Waiting w) {
        if (s.waiting.size() >= MAX_WAITING) {
            s.waiting.remove(0); // the gap this leaves is seen after the snapshot: another one is asked for
        }
        s.waiting.add(w);
    }

    private static long parseSeq(String seq) {
        try {
            return seq == null ? -1 : Long.parseLong(seq);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
