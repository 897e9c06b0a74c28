package dev.tandem.gateway;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * sgl-router's per-worker circuit breaker, beside the health checks: a worker whose dispatched requests fail
 * {@code failureThreshold} times in a row is <em>open</em> (no new requests) for {@code openMillis}; then it is
 * <em>half-open</em>: one request at a time goes through as a probe, {@code successThreshold} successes close it,
 * one failure opens it again. Health checks see a worker that answers {@code /health}; the breaker sees one whose
 * requests fail (a wedged peer, a broken KV path) and reacts within a few requests. Pure; thread-safe.
 */
final class CircuitBreaker {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CircuitBreaker.class);
    /** The breaker's state for one worker. */
    enum State { CLOSED, OPEN, HALF_OPEN }

    private final int failureThreshold;
    private final int successThreshold;
    private final long openMillis;
    private final LongSupplier clockMs;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    private static final class Entry {
        State state = State.CLOSED;
        int failures;
        int successes;
        long openedAt;
        boolean probing;
    }

    CircuitBreaker(int failureThreshold, int successThreshold, long openMillis, LongSupplier clockMs) {
        this.failureThreshold = failureThreshold;
        this.successThreshold = successThreshold;
        this.openMillis = openMillis;
        this.clockMs = clockMs;
    }

    private Entry entry(String url) {
        return entries.computeIfAbsent(url, u -> new Entry());
    }

    /** The state now (an open breaker whose time is up reads as half-open). */
    State state(String url) {
        Entry e = entry(url);
        synchronized (e) {
            if (e.state == State.OPEN && clockMs.getAsLong() - e.openedAt >= openMillis) {
                e.state = State.HALF_OPEN;
                e.successes = 0;
                e.probing = false;
            }
            return e.state;
        }
    }

    /** Whether a policy may pick {@code url} now (half-open: only while no probe is out). */
    boolean allows(String url) {
        State s = state(url);
        if (s != State.HALF_OPEN) {
            return s == State.CLOSED;
        }
        Entry e = entry(url);
        synchronized (e) {
            return !e.probing;
        }
    }

    /** A request was dispatched to {@code url}; in half-open it is the probe. */
    void dispatched(String url) {
        Entry e = entry(url);
        synchronized (e) {
            if (e.state == State.HALF_OPEN) {
                e.probing = true;
            }
        }
    }

    void success(String url) {
        Entry e = entry(url);
        synchronized (e) {
            e.failures = 0;
            if (e.state == State.HALF_OPEN) {
                e.probing = false;
                if (++e.successes >= successThreshold) {
                    LOG.info("circuit closed for worker {}", url);
                    e.state = State.CLOSED;
                }
            }
        }
    }

    void failure(String url) {
        Entry e = entry(url);
        synchronized (e) {
            e.probing = false;
            if (e.state == State.HALF_OPEN || ++e.failures >= failureThreshold) {
                if (e.state != State.OPEN) {
                    LOG.warn("circuit open for worker {} ({})", url, e.state == State.HALF_OPEN
                            ? "its half-open probe failed" : failureThreshold + " consecutive failures");
                }
                e.state = State.OPEN;
                e.openedAt = clockMs.getAsLong();
                e.failures = 0;
            }
        }
    }

    /** A dispatched request ended without saying anything about this worker: a half-open probe slot frees up. */
    void release(String url) {
        Entry e = entry(url);
        synchronized (e) {
            e.probing = false;
        }
    }

    void forget(String url) {
        entries.remove(url);
    }
}
