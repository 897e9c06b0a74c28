package dev.tandem.worker;

import dev.tandem.api.ApiException;
import dev.tandem.api.ErrorBodies;
import dev.tandem.api.GenerationAccumulator;
import dev.tandem.api.OpenAiRequest;
import dev.tandem.api.OpenAiResponses;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.scheduler.FinishReason;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.List;

/** {@code POST /v1/completions} and {@code POST /v1/chat/completions}, streaming or not, errors in OpenAI's shape. */
final class OpenAiRoutes {
    private final WorkerEngine engine;
    private final Dispatcher dispatcher;

    OpenAiRoutes(WorkerEngine engine, Dispatcher dispatcher) {
        this.engine = engine;
        this.dispatcher = dispatcher;
    }

    void completions(RoutingContext ctx) {
        run(ctx, false);
    }

    void chat(RoutingContext ctx) {
        run(ctx, true);
    }

    private void run(RoutingContext ctx, boolean chat) {
        OpenAiRequest req;
        try {
            var body = Replies.body(ctx);
            req = chat ? OpenAiRequest.chat(body, engine.tokenizer().chatTemplate()) : OpenAiRequest.completions(body);
        } catch (ApiException e) {
            Replies.openAiError(ctx, e);
            return;
        } catch (RuntimeException e) {
            Replies.openAiError(ctx, ApiException.badRequest(e.getMessage()));
            return;
        }
        OpenAiResponses out = new OpenAiResponses(req, engine.config().modelName(),
                id -> engine.tokenizer().decode(new int[] {id}, false));
        HttpServerResponse resp = ctx.response();
        int items = req.items().size();
        int[] sentChars = new int[items];
        int[] sentLogprobs = new int[items];
        boolean[] started = new boolean[items];
        dispatcher.run(ctx, req.items(), new Dispatcher.Listener() {
            @Override
            public void onOutput(int i, GenerationAccumulator acc) {
                if (!req.stream()) {
                    return;
                }
                String text = acc.text();
                String delta = text.substring(Math.min(sentChars[i], text.length()));
                sentChars[i] = text.length();
                List<Sampled> lps = acc.outputLogprobs();
                List<Sampled> newLps = new ArrayList<>(lps.subList(sentLogprobs[i], lps.size()));
                sentLogprobs[i] = lps.size();
                FinishReason f = acc.finish();
                if (!delta.isEmpty() || f != null || !started[i]) {
                    Sse.send(resp, out.chunk(i, delta, !started[i], newLps, f));
                    started[i] = true;
                }
            }

            @Override
            public void onFailure(FinishReason f) {
                var err = ErrorBodies.openAiBody(f.statusCode(), f.message(), null);
                if (req.stream()) {
                    Sse.send(resp, err);
                    Sse.done(resp);
                } else {
                    Replies.json(ctx, f.statusCode(), err);
                }
            }

            @Override
            public void onComplete(List<GenerationAccumulator> accs) {
                if (!req.stream()) {
                    Replies.json(ctx, 200, out.finalBody(accs));
                    return;
                }
                if (req.includeUsage()) {
                    Sse.send(resp, out.usageChunk(accs));
                }
                Sse.done(resp);
            }
        }).onFailure(t -> Replies.openAiError(ctx, t));
    }
}
