package dev.tandem.worker;

import dev.tandem.config.InputLimits;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.List;
import java.util.function.IntFunction;

/**
 * One streaming response that respects a slow reader. Outputs arrive from the scheduler at its pace; events are
 * written only while fewer than {@code sse_max_queued_bytes} wait to reach the socket (counted down as each write
 * completes: Vert.x's own {@code writeQueueFull} counts messages, and lets 16 events of any size pile up). Past that
 * the stream pauses: items with new output are only marked (their accumulators, which hold the output anyway,
 * coalesce it) and the scheduler holds back the request's decoding; once half the queue is written, decoding resumes
 * and one event per marked item carries everything. A stream paused longer than {@code sse_stall_timeout} is given up:
 * its request is aborted (its pages freed) and the connection closed. A reader that never reads thus holds at most
 * {@code sse_max_queued_bytes} plus one event, for a bounded time. Event-loop confined.
 */
final class SseStream {
    private static final Logger LOG = LoggerFactory.getLogger(SseStream.class);

    private final RoutingContext ctx;
    private final HttpServerResponse resp;
    private final long stallMs;
    private final IntFunction<Object> render;
    private final boolean[] marked;
    private final ArrayDeque<Integer> pending = new ArrayDeque<>();
    private final int maxQueued;
    private long queued; // bytes handed to the connection and not yet written to the socket
    private final Context context;
    private boolean flushQueued;
    private Runnable onStall = () -> { };
    private Consumer<Boolean> onPause = p -> { };
    private Object last;
    private boolean paused;    // the queue is full: nothing more is written until half of it is
    private boolean held;      // the scheduler holds the request's decoding
    private boolean completing;
    private long stallTimer = -1;

    /**
     * @param items  the request's items
     * @param render item {@code i}'s event with everything new since its previous one (or a list of events, sent in
     *               order), or null when there is nothing to say
     */
    SseStream(RoutingContext ctx, InputLimits limits, int items, IntFunction<Object> render) {
        this.ctx = ctx;
        this.resp = ctx.response();
        this.stallMs = Math.max(1, Math.round(limits.sseStallTimeoutS() * 1000));
        this.render = render;
        this.marked = new boolean[items];
        this.context = ctx.vertx().getOrCreateContext();
        this.maxQueued = limits.sseMaxQueuedBytes();
        if (!resp.closed() && !resp.ended()) {
            resp.setWriteQueueMaxSize(maxQueued);
        }
    }

    /** What to do when the reader stalled past the timeout (abort the request), before the connection closes. */
    SseStream onStall(Runnable r) {
        this.onStall = r;
        return this;
    }

    /** What to do when the stream pauses ({@code true}: hold back the request's decoding) and resumes. */
    SseStream onPause(Consumer<Boolean> c) {
        this.onPause = c;
        return this;
    }

    private boolean writable() {
        return !paused && !resp.closed() && !resp.ended();
    }

    /**
     * Item {@code index} has new output: its event goes out once the outputs already queued on this event loop are
     * in (so a burst becomes one event, rendered once, when the event loop is behind the scheduler), or when the
     * paused stream resumes.
     */
    void ready(int index) {
        if (!marked[index]) {
            marked[index] = true;
            pending.add(index);
        }
        if (paused && !held && !completing) {
            // Output keeps coming while the reader is behind: hold the decoding. Only now, not when the queue
            // filled, so that each resume lets the scheduler take at least one step.
            held = true;
            onPause.accept(true);
        }
        if (!flushQueued && writable()) {
            flushQueued = true;
            context.runOnContext(v -> {
                flushQueued = false;
                flush();
            });
        }
    }

    /**
     * Writes one event per marked item while the queue has room, in buffers of about {@code sse_max_queued_bytes}
     * (few writes, full TCP segments for a reader that is behind).
     */
    private void flush() {
        while (writable() && !pending.isEmpty()) {
            Buffer events = Buffer.buffer();
            while (!pending.isEmpty() && events.length() <= maxQueued) {
                int i = pending.poll();
                marked[i] = false;
                Object event = render.apply(i);
                if (event instanceof List<?> several) { // one item's output in several events, in order
                    several.forEach(e -> events.appendString("data: " + e + "\n\n"));
                } else if (event != null) {
                    events.appendString("data: " + event + "\n\n");
                }
            }
            if (events.length() > 0) {
                write(events); // may pause the stream, or complete at once when the socket took it all
            }
        }
    }

    private void write(Buffer events) {
        Sse.start(resp);
        int bytes = events.length();
        queued += bytes;
        resp.write(events).onComplete(ar -> {
            // Written to the socket (or dropped with a closed connection): no longer ours to hold.
            queued -= bytes;
            if (paused && queued <= maxQueued / 2) {
                resume();
            }
        });
        if (!paused && queued > maxQueued) {
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
        if (held) {
            held = false;
            onPause.accept(false);
        }
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
