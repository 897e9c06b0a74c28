package dev.tandem.gateway;

import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * {@code --log-interval} ({@code launch_lb}'s flag; SGLang parses it and never uses it): every interval, one log line
 * with each worker's health and load as this gateway sees them — healthy or why not, the last {@code /get_load}, the
 * requests this gateway has in flight on it, and an open circuit breaker — so an operator can watch the pools
 * without polling {@code /list_workers}. Keeps the last line (tests and {@code /list_workers} readers compare).
 */
final class LoadLog {
    private static final Logger LOG = LoggerFactory.getLogger(LoadLog.class);
    private final Vertx vertx;
    private final WorkerRegistry registry;
    private final WorkerHealth health;
    private long timer = -1;
    private volatile String last;
    private volatile long lines;

    LoadLog(Vertx vertx, WorkerRegistry registry, WorkerHealth health) {
        this.vertx = vertx;
        this.registry = registry;
        this.health = health;
    }

    /** Logs every {@code intervalMs}; 0 logs nothing. */
    void start(long intervalMs) {
        if (intervalMs > 0) {
            timer = vertx.setPeriodic(intervalMs, t -> log());
        }
    }

    private void log() {
        String line = line();
        last = line;
        lines++;
        LOG.info(line);
    }

    /** The state of every worker now, prefill pool first. */
    String line() {
        StringBuilder sb = new StringBuilder("workers:");
        append(sb, "prefill", registry.prefill());
        append(sb, "decode", registry.decode());
        return sb.toString();
    }

    private void append(StringBuilder sb, String pool, List<WorkerEntry> workers) {
        sb.append(' ').append(pool).append(" [");
        for (int i = 0; i < workers.size(); i++) {
            WorkerEntry w = workers.get(i);
            sb.append(i == 0 ? "" : ", ").append(w.url())
                    .append(health.routable(w) ? " healthy" : health.healthy(w.url()) ? " unconfirmed" : " unhealthy")
                    .append(" load=").append(health.load(w.url()))
                    .append(" in_flight=").append(health.inFlight(w.url()));
            CircuitBreaker.State circuit = health.breaker.state(w.url());
            if (circuit != CircuitBreaker.State.CLOSED) {
                sb.append(" circuit=").append(circuit.name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        sb.append(']');
    }

    /** The last line logged, or null before the first. */
    String last() {
        return last;
    }

    long lines() {
        return lines;
    }

    void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }
}
