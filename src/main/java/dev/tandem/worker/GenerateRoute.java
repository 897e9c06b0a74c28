package dev.tandem.worker;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.ApiException;
import dev.tandem.api.ErrorBodies;
import dev.tandem.api.GenerateRequestParser;
import dev.tandem.api.GenerationAccumulator;
import dev.tandem.api.RequestLimits;
import dev.tandem.config.InputLimits;
import dev.tandem.scheduler.FinishReason;
import io.vertx.ext.web.RoutingContext;

import java.util.List;

/**
 * {@code POST /generate}: SGLang's native endpoint, single or batch, streaming (SSE, cumulative text, ids new since
 * the previous chunk, {@code data: [DONE]}) or not. A request the scheduler refuses (status 400) answers 400 with
 * {@code {"error": {"message"}}}; a client that disconnects aborts its requests; a stream whose reader stalls is
 * paused, then aborted ({@link SseStream}).
 */
final class GenerateRoute {
    private final Dispatcher dispatcher;
    private final InputLimits limits;
    private final RequestLimits requestLimits;

    GenerateRoute(Dispatcher dispatcher, InputLimits limits) {
        this.dispatcher = dispatcher;
        this.limits = limits;
        this.requestLimits = WorkerVerticle.requestLimits(limits);
    }

    void handle(RoutingContext ctx) {
        GenerateRequestParser.Parsed req;
        try {
            req = GenerateRequestParser.parse(Replies.body(ctx), requestLimits);
        } catch (ApiException e) {
            Replies.error(ctx, e);
            return;
        }
        if (!req.stream()) {
            dispatcher.run(ctx, req.items(), new Dispatcher.Listener() {
                @Override
                public void onOutput(int i, GenerationAccumulator acc) {
                }

                @Override
                public void onFailure(FinishReason f) {
                    fail(ctx, f);
                }

                @Override
                public void onComplete(List<GenerationAccumulator> accs) {
                    reply(ctx, req.batch(), accs);
                }
            }).submitted().onFailure(t -> Replies.error(ctx, t));
            return;
        }
        GenerationAccumulator[] accs = new GenerationAccumulator[req.items().size()];
        SseStream stream = new SseStream(ctx, limits, accs.length, i -> {
            ObjectNode chunk = accs[i].streamChunk();
            if (req.batch()) {
                chunk.put("index", i);
            }
            return chunk;
        });
        Dispatcher.Running running = dispatcher.run(ctx, req.items(), new Dispatcher.Listener() {
            @Override
            public void onOutput(int i, GenerationAccumulator acc) {
                accs[i] = acc;
                stream.ready(i);
            }

            @Override
            public void onFailure(FinishReason f) {
                stream.fail(ErrorBodies.nativeBody(f.message()));
            }

            @Override
            public void onComplete(List<GenerationAccumulator> all) {
                stream.complete(null);
            }
        });
        stream.onStall(() -> running.abort("the client stopped reading its stream (sse_stall_timeout)"))
                .onPause(running::pause);
        running.submitted().onFailure(t -> Replies.error(ctx, t));
    }

    private static void fail(RoutingContext ctx, FinishReason f) {
        if (f.statusCode() == 400) {
            Replies.json(ctx, 400, ErrorBodies.nativeBody(f.message()));
        } else {
            Replies.json(ctx, f.statusCode(), Replies.JSON.createObjectNode().put("detail", f.message()));
        }
    }

    private static void reply(RoutingContext ctx, boolean batch, List<GenerationAccumulator> accs) {
        if (!batch) {
            Replies.json(ctx, 200, accs.get(0).finalObject());
            return;
        }
        ArrayNode arr = Replies.JSON.createArrayNode();
        accs.forEach(a -> arr.add(a.finalObject()));
        Replies.json(ctx, 200, arr);
    }
}
