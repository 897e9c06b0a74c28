package dev.tandem.worker;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.ApiException;
import dev.tandem.api.ErrorBodies;
import dev.tandem.api.GenerateRequestParser;
import dev.tandem.api.GenerationAccumulator;
import dev.tandem.scheduler.FinishReason;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.List;

/**
 * {@code POST /generate}: SGLang's native endpoint, single or batch, streaming (SSE, cumulative text, new ids per
 * chunk, {@code data: [DONE]}) or not. A request the scheduler refuses (status 400) answers 400 with
 * {@code {"error": {"message"}}}; a client that disconnects aborts its requests.
 */
final class GenerateRoute {
    private final Dispatcher dispatcher;

    GenerateRoute(Dispatcher dispatcher) {
        this.dispatcher = dispatcher;
    }

    void handle(RoutingContext ctx) {
        GenerateRequestParser.Parsed req;
        try {
            req = GenerateRequestParser.parse(Replies.body(ctx));
        } catch (ApiException e) {
            Replies.error(ctx, e);
            return;
        }
        HttpServerResponse resp = ctx.response();
        int[] finished = {0};
        boolean[] failed = {false};
        dispatcher.submit(req.items(), (i, acc) -> {
            if (failed[0]) {
                return;
            }
            FinishReason f = acc.finish();
            if (f != null && f.isAbort() && f.statusCode() != 499) {
                failed[0] = true;
                dispatcher.abortUnfinished(accsOf(ctx), "a sibling request failed");
                if (req.stream()) {
                    Sse.send(resp, ErrorBodies.nativeBody(f.message()));
                    Sse.done(resp);
                } else if (f.statusCode() == 400) {
                    Replies.json(ctx, 400, ErrorBodies.nativeBody(f.message()));
                } else {
                    Replies.json(ctx, f.statusCode(), Replies.JSON.createObjectNode().put("detail", f.message()));
                }
                return;
            }
            if (req.stream()) {
                ObjectNode chunk = acc.streamChunk();
                if (req.batch()) {
                    chunk.put("index", i);
                }
                Sse.send(resp, chunk);
            }
            if (f != null && ++finished[0] == req.items().size()) {
                if (req.stream()) {
                    Sse.done(resp);
                } else {
                    reply(ctx, req.batch(), accsOf(ctx));
                }
            }
        }).onSuccess(accs -> {
            ctx.put("accs", accs);
            // Vert.x Web fails the end handlers when the client goes away before the response ended.
            ctx.addEndHandler(ar -> {
                if (ar.failed()) {
                    dispatcher.abortUnfinished(accs, "client disconnected");
                }
            });
        }).onFailure(t -> Replies.error(ctx, t));
    }

    @SuppressWarnings("unchecked")
    private static List<GenerationAccumulator> accsOf(RoutingContext ctx) {
        List<GenerationAccumulator> accs = ctx.get("accs");
        return accs == null ? List.of() : accs;
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
