package dev.tandem.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The workers every gateway of the cluster routes to: a cluster-wide map (Hazelcast through Vert.x shared data;
 * a local map when not clustered), keyed by mode and URL so duplicates collapse. Each gateway keeps a snapshot,
 * refreshed on every add and every second, for its routing decisions.
 */
final class WorkerRegistry {
    static final String MAP = "tandem.gateway.workers";

    private final Vertx vertx;
    private final Map<String, WorkerEntry> snapshot = new ConcurrentHashMap<>();
    private AsyncMap<String, JsonObject> map;
    private long timer = -1;

    WorkerRegistry(Vertx vertx) {
        this.vertx = vertx;
    }

    Future<Void> start() {
        return vertx.sharedData().<String, JsonObject>getAsyncMap(MAP).map(m -> {
            map = m;
            timer = vertx.setPeriodic(1000, t -> refresh());
            return null;
        }).compose(v -> refresh());
    }

    /** Adds {@code w} unless a worker with its mode and URL is known; true when it was new. */
    Future<Boolean> add(WorkerEntry w) {
        snapshot.putIfAbsent(w.key(), w);
        JsonObject j = new JsonObject().put("mode", w.mode()).put("url", w.url()).put("bootstrap_port", w.bootstrapPort());
        return map.putIfAbsent(w.key(), j).map(prev -> prev == null);
    }

    Future<Void> refresh() {
        return map.entries().map(entries -> {
            for (JsonObject j : entries.values()) {
                WorkerEntry w = new WorkerEntry(j.getString("mode"), j.getString("url"), j.getInteger("bootstrap_port"));
                snapshot.putIfAbsent(w.key(), w);
            }
            return null;
        });
    }

    List<WorkerEntry> prefill() {
        return byMode(true);
    }

    List<WorkerEntry> decode() {
        return byMode(false);
    }

    private List<WorkerEntry> byMode(boolean prefill) {
        List<WorkerEntry> out = new ArrayList<>();
        for (WorkerEntry w : snapshot.values()) {
            if (w.prefill() == prefill) {
                out.add(w);
            }
        }
        out.sort(java.util.Comparator.comparing(WorkerEntry::url));
        return out;
    }

    void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }
}
