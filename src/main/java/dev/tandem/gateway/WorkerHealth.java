package dev.tandem.gateway;

import dev.tandem.gateway.policy.Candidate;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This gateway's view of each worker's health and load. Every interval it asks each registered worker for
 * {@code /health} and {@code /get_load}; {@code failures} consecutive misses mark it unhealthy, one success marks it
 * healthy again. A worker is unhealthy until its first successful check, so {@code /health} stays 503 until
 * both pools have a live worker. A refused connection at dispatch counts as a miss at once.
 *
 * <p>Before a worker's first check (and again after it was unhealthy, since another process may now hold its port)
 * the gateway confirms it: its {@code /get_server_info} must report the {@code disaggregation_mode} it was
 * registered with (and, for a prefill worker that reports one, the same bootstrap port). A worker is routable only
 * when healthy and confirmed; why an entry is not confirmed shows in {@code /list_workers}.
 *
 * <p>The load a policy sees is the larger of the worker's last {@code /get_load} and this gateway's requests in
 * flight on it: the poll is up to one interval old (a burst would all see the same numbers) while the in-flight count
 * is exact for this gateway but blind to others'; adding them would count this gateway's requests twice.
 */
final class WorkerHealth {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerHealth.class);
    private static final long CHECK_TIMEOUT_MS = 2000;
    private static final long CONFIRM_TIMEOUT_MS = 5000;
    private static final int MAX_INFO_BYTES = 256 << 10;
    private static final int MAX_LOAD_BYTES = 4096;

    private final Vertx vertx;
    private final WorkerClient client;
    private final WorkerRegistry registry;
    private final int failures;
    private final Map<String, State> states = new ConcurrentHashMap<>();
    private long timer = -1;

    /** What a worker said about itself in {@code /get_server_info}. */
    private record Info(String mode, Integer bootstrapPort) {
    }

    private static final class State {
        volatile boolean healthy;
        volatile String lastMiss;
        volatile int misses;
        volatile long load;
        volatile Info info;
        volatile String infoError;
        final AtomicLong inFlight = new AtomicLong();
    }

    /** Outcomes of dispatched requests, beside the health checks ({@code --cb-*}, sgl-router's flags and defaults). */
    final CircuitBreaker breaker;

    WorkerHealth(Vertx vertx, WorkerClient client, WorkerRegistry registry, int failures,
                 dev.tandem.config.GatewayConfig.Breaker cb) {
        this.breaker = new CircuitBreaker(cb.failureThreshold(), cb.successThreshold(),
                (long) (cb.openSeconds() * 1000), System::currentTimeMillis);
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
        for (WorkerEntry w : registry.all()) {
            all.add(check(w));
        }
        return Future.join(all).mapEmpty();
    }

    Future<Void> check(WorkerEntry w) {
        State s = state(w.url());
        Future<Void> known = s.info != null ? Future.succeededFuture() : fetchInfo(w.url(), s);
        return known.compose(v -> client.call(HttpMethod.GET, w.url(), "/health", null, false, CHECK_TIMEOUT_MS,
                MAX_LOAD_BYTES)).compose(r -> {
            if (r.status() != 200) {
                return Future.failedFuture("HTTP " + r.status());
            }
            return client.call(HttpMethod.GET, w.url(), "/get_load", null, false, CHECK_TIMEOUT_MS, MAX_LOAD_BYTES);
        }).map(r -> {
            JsonObject j = r.status() == 200 ? WorkerShapes.object(r.body()) : null;
            s.load = j != null && j.getValue("load") instanceof Number n ? Math.max(0, n.longValue()) : 0;
            s.misses = 0;
            if (!s.healthy) {
                LOG.info("worker {} is healthy", w.url());
            }
            s.healthy = true;
            return (Void) null;
        }).recover(err -> {
            s.lastMiss = err.getMessage();
            miss(w.url());
            return Future.succeededFuture();
        });
    }

    private Future<Void> fetchInfo(String url, State s) {
        return client.call(HttpMethod.GET, url, "/get_server_info", null, false, CONFIRM_TIMEOUT_MS, MAX_INFO_BYTES)
                .transform(ar -> {
                    JsonObject j = ar.succeeded() && ar.result().status() == 200 && !ar.result().truncated()
                            ? WorkerShapes.object(ar.result().body()) : null;
                    if (j == null) {
                        s.infoError = ar.failed() ? "get_server_info failed: " + WorkerShapes.message(
                                String.valueOf(ar.cause().getMessage())) : ar.result().status() == 401
                                || ar.result().status() == 403 ? "get_server_info answered " + ar.result().status()
                                + " (check --worker-api-key)" : "get_server_info answered " + ar.result().status()
                                + (ar.result().truncated() ? " with an oversized body" : " without a JSON object");
                        return Future.failedFuture(s.infoError);
                    }
                    Object port = j.getValue("disaggregation_bootstrap_port");
                    s.info = new Info(j.getValue("disaggregation_mode") instanceof String m ? m : null,
                            port instanceof Integer p ? p : null);
                    s.infoError = null;
                    return Future.succeededFuture();
                });
    }

    /** Null when {@code w} is confirmed, else why not (never asked yet, unreachable, or another mode). */
    String unconfirmed(WorkerEntry w) {
        State s = states.get(w.url());
        Info i = s == null ? null : s.info;
        if (i == null) {
            return s == null || s.infoError == null ? "not yet confirmed" : s.infoError;
        }
        if (!w.mode().equals(i.mode())) {
            return "the worker reports disaggregation_mode " + (i.mode() == null ? "none"
                    : "'" + WorkerShapes.message(i.mode()) + "'") + ", registered as '" + w.mode() + "'";
        }
        if (w.prefill() && i.bootstrapPort() != null && w.bootstrapPort() != null
                && !i.bootstrapPort().equals(w.bootstrapPort())) {
            return "the worker reports bootstrap port " + i.bootstrapPort() + ", registered with "
                    + w.bootstrapPort();
        }
        return null;
    }

    /** Healthy and confirmed: a policy may pick it. */
    boolean routable(WorkerEntry w) {
        return healthy(w.url()) && unconfirmed(w) == null;
    }

    /** A failed check, or a connection refused at dispatch. */
    void miss(String url) {
        State s = state(url);
        s.misses++;
        if (s.misses >= failures) {
            down(url, s);
        }
    }

    /** Marks a worker down at once (it refused a connection). */
    void down(String url) {
        State s = state(url);
        s.misses = Math.max(s.misses, failures);
        s.lastMiss = "refused a connection";
        down(url, s);
    }

    private static void down(String url, State s) {
        if (s.healthy) {
            LOG.warn("worker {} is unhealthy ({})", url, s.lastMiss);
        }
        s.healthy = false;
        s.info = null; // confirm again before routing to whatever answers there next
    }

    /** The registry dropped {@code w}: forget its state unless another entry has its URL. */
    void forget(WorkerEntry w) {
        if (registry.all().stream().noneMatch(o -> o.url().equals(w.url()))) {
            states.remove(w.url());
            breaker.forget(w.url());
        }
    }

    private State state(String url) {
        return states.computeIfAbsent(url, u -> new State());
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
        state(url).inFlight.incrementAndGet();
    }

    /** A request dispatched to {@code url} ended (however). */
    void ended(String url) {
        State s = states.get(url);
        if (s != null) {
            s.inFlight.decrementAndGet();
        }
    }

    long inFlight(String url) {
        State s = states.get(url);
        return s == null ? 0 : s.inFlight.get();
    }

    /** The routable workers of {@code pool} with their loads, for a policy. */
    List<Candidate> candidates(List<WorkerEntry> pool) {
        List<Candidate> out = new ArrayList<>();
        for (WorkerEntry w : pool) {
            if (routable(w) && breaker.allows(w.url())) {
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
