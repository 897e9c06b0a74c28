package dev.tandem.gateway;

import dev.tandem.bus.BusSigner;
import dev.tandem.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * The workers every gateway of the cluster routes to: a cluster-wide map (Hazelcast through Vert.x shared data; a
 * local map when not clustered), keyed by mode and URL so duplicates collapse. Each gateway keeps a snapshot,
 * refreshed on every add and every second, for its routing decisions.
 *
 * <p>Every value in the map is signed with the cluster secret ({@link BusSigner#signRecord} under
 * {@code "registry:" + key}): a cluster member without the secret can write the map (OSS Hazelcast cannot stop it)
 * but cannot add a worker, since a value whose signature, key or URL does not check out is ignored (counted once
 * per value by the signer, and logged). A forged value under a real worker's key is overwritten when that worker
 * registers.
 *
 * <p>Workers named on this gateway's command line stay for its lifetime. Workers that came from {@code /register}
 * or an announcement are removed (from the map, so from every gateway) once this gateway has found them unroutable
 * (unhealthy, or not confirmed) for longer than the TTL; a live worker that comes back announces itself again.
 */
final class WorkerRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerRegistry.class);
    static final String MAP = "tandem.gateway.workers";
    /** Entries one registry holds at most: past it, new registrations are refused. */
    static final int MAX_ENTRIES = 4096;
    private static final long REFRESH_MS = 1000;

    private record Known(WorkerEntry entry, boolean expires) {
    }

    private final Vertx vertx;
    private final BusSigner signer;
    private final long ttlMs;
    private final LongSupplier clock;
    private final Map<String, Known> snapshot = new ConcurrentHashMap<>();
    private final Set<String> pinned = ConcurrentHashMap.newKeySet();
    private final Map<String, Long> downSince = new ConcurrentHashMap<>();
    /** Map values already refused, by key (their encoded form), so each is refused and counted once. */
    private final Map<String, String> refused = new ConcurrentHashMap<>();
    private final AtomicLong writes = new AtomicLong();
    private AsyncMap<String, Object> map;
    private Predicate<WorkerEntry> routable = w -> true;
    private Consumer<WorkerEntry> removed = w -> { };
    private long timer = -1;

    WorkerRegistry(Vertx vertx, BusSigner signer, long ttlMs, LongSupplier clock) {
        this.vertx = vertx;
        this.signer = signer;
        this.ttlMs = ttlMs;
        this.clock = clock;
    }

    /**
     * Opens the map and refreshes every second, then sweeps: {@code routable} tells whether this gateway can route
     * to an entry now; {@code removed} hears of every entry that left the snapshot.
     */
    Future<Void> start(Predicate<WorkerEntry> routable, Consumer<WorkerEntry> removed) {
        this.routable = routable;
        this.removed = removed;
        return vertx.sharedData().<String, Object>getAsyncMap(MAP).map(m -> {
            map = m;
            timer = vertx.setPeriodic(REFRESH_MS, t -> refresh().onSuccess(v -> sweep()));
            return null;
        }).compose(v -> refresh());
    }

    /**
     * Adds {@code w} unless a worker with its mode and URL is known; true when it was new. {@code expires}: false for
     * workers from this gateway's command line (never removed), true for the others.
     */
    Future<Boolean> add(WorkerEntry w, boolean expires) {
        if (!snapshot.containsKey(w.key()) && snapshot.size() >= MAX_ENTRIES) {
            return Future.failedFuture(new IllegalStateException("the registry holds " + MAX_ENTRIES
                    + " workers already"));
        }
        if (!expires) {
            pinned.add(w.key());
        }
        writes.incrementAndGet();
        Known mine = new Known(w, expires);
        JsonObject signed = signed(w, expires);
        return map.putIfAbsent(w.key(), signed).compose(prev -> {
            Known there = prev == null ? null : open(w.key(), prev);
            if (prev != null && there == null) {
                LOG.warn("replacing an invalid registry value under '{}' with a signed one", w.key());
                return map.replaceIfPresent(w.key(), prev, signed).map(mine);
            }
            return Future.succeededFuture(there);
        }).map(there -> {
            writes.incrementAndGet();
            if (!expires) {
                snapshot.put(w.key(), mine); // this gateway keeps what its operator named, whatever the map says
            } else {
                snapshot.putIfAbsent(w.key(), there != null ? there : mine);
            }
            return there == null || there == mine;
        });
    }

    /** Reads the map into the snapshot: adds what is new and valid, drops what left the map (pinned entries stay). */
    Future<Void> refresh() {
        long before = writes.get();
        return map.entries().map(entries -> {
            Set<String> present = new HashSet<>();
            for (Map.Entry<String, Object> e : entries.entrySet()) {
                Known k = open(e.getKey(), e.getValue());
                if (k != null) {
                    present.add(e.getKey());
                    snapshot.putIfAbsent(e.getKey(), k);
                }
            }
            refused.keySet().retainAll(entries.keySet());
            // An add that overlapped this read may be missing from it: drop nothing this round.
            if (writes.get() == before) {
                for (Known k : List.copyOf(snapshot.values())) {
                    if (!present.contains(k.entry().key()) && !pinned.contains(k.entry().key())) {
                        forget(k.entry());
                    }
                }
            }
            return null;
        });
    }

    /** Removes the expiring entries this gateway found unroutable for longer than the TTL. */
    void sweep() {
        long now = clock.getAsLong();
        for (Known k : List.copyOf(snapshot.values())) {
            String key = k.entry().key();
            if (routable.test(k.entry())) {
                downSince.remove(key);
                continue;
            }
            long since = downSince.computeIfAbsent(key, x -> now);
            if (k.expires() && now - since > ttlMs) {
                LOG.info("removing {} worker {}: unroutable for {} s (registry TTL {} s)", k.entry().mode(),
                        k.entry().url(), (now - since) / 1000, ttlMs / 1000.0);
                writes.incrementAndGet();
                map.removeIfPresent(key, signed(k.entry(), true));
                forget(k.entry());
            }
        }
    }

    private void forget(WorkerEntry w) {
        if (snapshot.remove(w.key()) != null) {
            downSince.remove(w.key());
            removed.accept(w);
        }
    }

    private JsonObject signed(WorkerEntry w, boolean expires) {
        JsonObject j = new JsonObject().put("mode", w.mode()).put("url", w.url())
                .put("bootstrap_port", w.bootstrapPort()).put("expires", expires);
        return signer.signRecord(kind(w.key()), j);
    }

    static String kind(String key) {
        return "registry:" + key;
    }

    /** The entry a map value holds, or null (logged, counted once) when it must not be trusted. */
    private Known open(String key, Object value) {
        String encoded = value instanceof JsonObject j ? j.encode() : String.valueOf(value);
        if (encoded.equals(refused.get(key))) {
            return null;
        }
        try {
            JsonObject j = signer.openRecord(kind(key), value);
            Object port = j.getValue("bootstrap_port");
            String mode = j.getString("mode");
            String url = j.getString("url");
            if (!("prefill".equals(mode) || "decode".equals(mode)) || url == null
                    || !GatewayConfig.workerUrl(url).equals(url) || !(port == null || port instanceof Integer p
                    && p >= 1 && p <= 65535)) {
                throw new IllegalArgumentException("not a worker entry: " + j.encode());
            }
            WorkerEntry w = new WorkerEntry(mode, url, (Integer) port);
            if (!w.key().equals(key)) {
                throw new IllegalArgumentException("signed for '" + w.key() + "', stored under '" + key + "'");
            }
            return new Known(w, j.getBoolean("expires", true));
        } catch (BusSigner.Rejected | IllegalArgumentException | ClassCastException e) {
            refused.put(key, encoded);
            LOG.warn("ignoring registry entry '{}': {}", WorkerShapes.message(key), WorkerShapes.message(e.getMessage()));
            return null;
        }
    }

    /** Whether {@code w} may be removed by the TTL (it did not come from this gateway's command line). */
    boolean expires(WorkerEntry w) {
        Known k = snapshot.get(w.key());
        return k != null && k.expires();
    }

    List<WorkerEntry> prefill() {
        return byMode(true);
    }

    List<WorkerEntry> decode() {
        return byMode(false);
    }

    List<WorkerEntry> all() {
        List<WorkerEntry> all = new ArrayList<>(prefill());
        all.addAll(decode());
        return all;
    }

    private List<WorkerEntry> byMode(boolean prefill) {
        List<WorkerEntry> out = new ArrayList<>();
        for (Known k : snapshot.values()) {
            if (k.entry().prefill() == prefill) {
                out.add(k.entry());
            }
        }
        out.sort(Comparator.comparing(WorkerEntry::url));
        return out;
    }

    void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }
}
