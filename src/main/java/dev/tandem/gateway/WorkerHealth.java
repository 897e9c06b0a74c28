package dev.tandem.gateway;

import dev.tandem.gateway.policy.Candidate;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * This gateway's view of each worker's health and load. Every interval it asks each registered worker for
 * {@code /health} and {@code /get_load}; {@code failures} consecutive misses mark it unhealthy, one success marks it
 * healthy again. A worker is unhealthy until its first successful check, so {@code /health} stays 503 until
 * both pools have a live worker. A refused connection at dispatch counts as a miss at once.
 *
 * <p>The load a policy sees is the larger of the worker's last {@code /get_load} and this gateway's requests in
 * flight on it: the poll is up to one interval old (a burst would all see the same numbers) while the in-flight count
 * is exact for this gateway but blind to others'; adding them would count this gateway's requests twice.
 */
final class WorkerHealth {
    private static final long CHECK_TIMEOUT_MS = 2000;

    private final Vertx vertx;
    private final WebClient client;
    private final WorkerRegistry registry;
    private final int failures;
    private final Map<String, State> states = new ConcurrentHashMap<>();
    private long timer = -1;

    private static final class State {
        volatile boolean healthy;
        volatile int misses;
        volatile long load;
        final AtomicLong inFlight = new AtomicLong();
    }

    WorkerHealth(Vertx vertx, WebClient client, WorkerRegistry registry, int failures) {
        this.vertx = vertx;
        this.client = client;
        this.registry = registry;
        this.failures = failures;
    }

    void start(long intervalMs) {
        checkAll();
        timer = vertx.setPeriodic(intervalMs, t -> checkAll());
    }

    Future<Void> checkAll() {
        List<Future<?>> all = new ArrayList<>();
        for (WorkerEntry w : registry.prefill()) {
            all.add(check(w));
        }
        for (WorkerEntry w : registry.decode()) {
            all.add(check(w));
        }
        return Future.join(all).mapEmpty();
    }

    Future<Void> check(WorkerEntry w) {
        State s = states.computeIfAbsent(w.url(), u -> new State());
        return client.getAbs(w.url() + "/health").timeout(CHECK_TIMEOUT_MS).send().compose(r -> {
            if (r.statusCode() != 200) {
                return Future.failedFuture("HTTP " + r.statusCode());
            }
            return client.getAbs(w.url() + "/get_load").timeout(CHECK_TIMEOUT_MS).send();
        }).map(r -> {
            JsonObject j = r.statusCode() == 200 ? r.bodyAsJsonObject() : null;
            s.load = j != null ? j.getLong("load", 0L) : 0;
            s.misses = 0;
            s.healthy = true;
            return (Void) null;
        }).recover(err -> {
            miss(w.url());
            return Future.succeededFuture();
        });
    }

    /** A failed check, or a connection refused at dispatch. */
    void miss(String url) {
        State s = states.computeIfAbsent(url, u -> new State());
        s.misses++;
        if (s.misses >= failures) {
            s.healthy = false;
        }
    }

    /** Marks a worker down at once (it refused a connection). */
    void down(String url) {
        State s = states.computeIfAbsent(url, u -> new State());
        s.misses = Math.max(s.misses, failures);
        s.healthy = false;
    }

    boolean healthy(String url) {
        State s = states.get(url);
        return s != null && s.healthy;
    }

    long load(String url) {
        State s = states.get(url);
        return s == null ? 0 : s.load;
    }

    /** A request was dispatched to {@code url}. */
    void started(String url) {
        states.computeIfAbsent(url, u -> new State()).inFlight.incrementAndGet();
    }

    /** A request dispatched to {@code url} ended (however). */
    void ended(String url) {
        states.computeIfAbsent(url, u -> new State()).inFlight.decrementAndGet();
    }

    long inFlight(String url) {
        State s = states.get(url);
        return s == null ? 0 : s.inFlight.get();
    }

    List<Candidate> candidates(List<WorkerEntry> pool) {
        List<Candidate> out = new ArrayList<>();
        for (WorkerEntry w : pool) {
            if (healthy(w.url())) {
                out.add(new Candidate(w.url(), Math.max(load(w.url()), inFlight(w.url()))));
            }
        }
        return out;
    }

    void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }
}
