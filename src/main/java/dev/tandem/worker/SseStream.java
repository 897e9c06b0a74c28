package dev.tandem.worker;

import dev.tandem.config.InputLimits;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.function.IntFunction;

/**
 * One streaming response that respects a slow reader. Outputs keep arriving from the scheduler at its pace; this
 * writes them only while the connection's write queue (capped at {@code sse_max_queued_bytes}) has room. When it is
 * full the stream pauses: nothing more is queued, the items with new output are only marked, their accumulators
 * (which hold the output anyway) coalesce it, and on the drain one event per marked item carries all of it. A stream
 * paused longer
 * than {@code sse_stall_timeout} is given up: its request is aborted (its pages freed) and the connection closed.
 * So a reader that never reads costs at most {@code sse_max_queued_bytes} plus one event of memory, for a bounded
 * time. Event-loop confined.
 */
final class SseStream {
    private static final Logger LOG = LoggerFactory.getLogger(SseStream.class);

    private final RoutingContext ctx;
    private final HttpServerResponse resp;
    private final long stallMs;
    private final IntFunction<Object> render;
    private final boolean[] marked;
    private final ArrayDeque<Integer> pending = new ArrayDeque<>();
    private Runnable onStall = () -> { };
    private Object last;
    private boolean paused;
    private boolean completing;
    private long stallTimer = -1;

    /**
     * @param items  the request's items
     * @param render item {@code i}'s event with everything new since its previous one, or null when there is
     *               nothing to say
     */
    SseStream(RoutingContext ctx, InputLimits limits, int items, IntFunction<Object> render) {
        this.ctx = ctx;
        this.resp = ctx.response();
        this.stallMs = Math.max(1, Math.round(limits.sseStallTimeoutS() * 1000));
        this.render = render;
        this.marked = new boolean[items];
        if (!resp.closed() && !resp.ended()) {
            resp.setWriteQueueMaxSize(limits.sseMaxQueuedBytes());
            resp.drainHandler(v -> resume());
        }
    }

    /** What to do when the reader stalled past the timeout (abort the request), before the connection closes. */
    SseStream onStall(Runnable r) {
        this.onStall = r;
        return this;
    }

    private boolean writable() {
        return !paused && !resp.closed() && !resp.ended();
    }

    /** Item {@code index} has new output: its event goes out now, or on the drain. */
    void ready(int index) {
        if (!marked[index]) {
            marked[index] = true;
            pending.add(index);
        }
        flush();
    }

    private void flush() {
        while (writable() && !pending.isEmpty()) {
            int i = pending.poll();
            marked[i] = false;
            Object event = render.apply(i);
            if (event != null) {
                send(event);
            }
        }
    }

    private void send(Object json) {
        if (resp.closed() || resp.ended()) {
            return;
        }
        Sse.send(resp, json);
        if (!paused && resp.writeQueueFull()) {
            paused = true;
            stallTimer = ctx.vertx().setTimer(stallMs, t -> stalled());
        }
    }

    /**
     * Everything is produced: the stream ends once what is pending is written, with {@code lastEvent} (when not
     * null) and {@code [DONE]}.
     */
    void complete(Object lastEvent) {
        completing = true;
        last = lastEvent;
        flush();
        if (writable()) {
            finish();
        }
    }

    /** The request failed: the error event and {@code [DONE]} go out now (small, and the request is over). */
    void fail(Object errorJson) {
        last = errorJson;
        finish();
    }

    private void finish() {
        cancelTimer();
        if (last != null) {
            Sse.send(resp, last);
        }
        Sse.done(resp);
    }

    private void resume() {
        if (!paused) {
            return;
        }
        paused = false;
        cancelTimer();
        flush();
        if (completing && writable()) {
            finish();
        }
    }

    private void stalled() {
        stallTimer = -1;
        if (!paused || resp.closed() || resp.ended()) {
            return;
        }
        LOG.warn("{} {}: the client read nothing for {} ms (sse_stall_timeout); aborting the request and closing "
                + "the connection", ctx.request().method(), ctx.normalizedPath(), stallMs);
        onStall.run();
        ctx.request().connection().close();
    }

    private void cancelTimer() {
        if (stallTimer >= 0) {
            ctx.vertx().cancelTimer(stallTimer);
            stallTimer = -1;
        }
    }
}
