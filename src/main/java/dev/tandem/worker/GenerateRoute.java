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
        dispatcher.run(ctx, req.items(), new Dispatcher.Listener() {
            @Override
            public void onOutput(int i, GenerationAccumulator acc) {
                if (req.stream()) {
                    ObjectNode chunk = acc.streamChunk();
                    if (req.batch()) {
                        chunk.put("index", i);
                    }
                    Sse.send(resp, chunk);
                }
            }

            @Override
            public void onFailure(FinishReason f) {
                if (req.stream()) {
                    Sse.send(resp, ErrorBodies.nativeBody(f.message()));
                    Sse.done(resp);
                } else if (f.statusCode() == 400) {
                    Replies.json(ctx, 400, ErrorBodies.nativeBody(f.message()));
                } else {
                    Replies.json(ctx, f.statusCode(), Replies.JSON.createObjectNode().put("detail", f.message()));
                }
            }

            @Override
            public void onComplete(List<GenerationAccumulator> accs) {
                if (req.stream()) {
                    Sse.done(resp);
                } else {
                    reply(ctx, req.batch(), accs);
                }
            }
        }).onFailure(t -> Replies.error(ctx, t));
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
