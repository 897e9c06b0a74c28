package dev.tandem.worker;

import dev.tandem.api.ApiException;
import dev.tandem.api.ErrorBodies;
import dev.tandem.api.GenerationAccumulator;
import dev.tandem.api.OpenAiRequest;
import dev.tandem.api.OpenAiResponses;
import dev.tandem.api.RequestLimits;
import dev.tandem.config.InputLimits;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.scheduler.FinishReason;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}, streaming or not, errors in OpenAI's shape.
 * Streams send each choice's text delta since its previous chunk, so a stream paused for a slow reader
 * ({@link SseStream}) catches up with one chunk per choice.
 */
final class OpenAiRoutes {
    private final WorkerEngine engine;
    private final Dispatcher dispatcher;
    private final InputLimits limits;
    private final RequestLimits requestLimits;

    OpenAiRoutes(WorkerEngine engine, Dispatcher dispatcher, InputLimits limits) {
        this.engine = engine;
        this.dispatcher = dispatcher;
        this.limits = limits;
        this.requestLimits = WorkerVerticle.requestLimits(limits);
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
            req = chat ? OpenAiRequest.chat(body, engine.tokenizer().chatTemplate(), requestLimits,
                    engine.config().toolCallParser())
                    : OpenAiRequest.completions(body, requestLimits);
        } catch (ApiException e) {
            Replies.openAiError(ctx, e);
            return;
        } catch (RuntimeException e) {
            Replies.openAiError(ctx, ApiException.badRequest(e.getMessage()));
            return;
        }
        OpenAiResponses out = new OpenAiResponses(req, engine.config().modelName(),
                id -> engine.tokenizer().decode(new int[] {id}, false), engine.config().toolCallParser());
        boolean toolCalls = out.parsesToolCalls(); // calls are parsed from the text as it grows
        int items = req.items().size();
        dev.tandem.api.ToolCallStream[] callStreams = new dev.tandem.api.ToolCallStream[items];
        GenerationAccumulator[] accs = new GenerationAccumulator[items];
        int[] sentChars = new int[items];
        int[] sentLogprobs = new int[items];
        boolean[] started = new boolean[items];
        SseStream stream = !req.stream() ? null : new SseStream(ctx, limits, items, i -> {
            GenerationAccumulator acc = accs[i];
            if (toolCalls) {
                if (callStreams[i] == null) {
                    callStreams[i] = out.toolCallStream();
                }
                var d = callStreams[i].next(acc.text(), acc.finish() != null);
                if (d.isEmpty() && acc.finish() == null && started[i]) {
                    return null;
                }
                boolean first = !started[i];
                started[i] = true;
                List<Sampled> lps = acc.outputLogprobs();
                List<Sampled> newLps = new ArrayList<>(lps.subList(sentLogprobs[i], lps.size()));
                sentLogprobs[i] = lps.size();
                return out.toolDeltaChunks(i, d, first, newLps, acc.finish(), callStreams[i].calls() > 0);
            }
            String text = acc.text();
            String delta = text.substring(Math.min(sentChars[i], text.length()));
            sentChars[i] = text.length();
            List<Sampled> lps = acc.outputLogprobs();
            List<Sampled> newLps = new ArrayList<>(lps.subList(sentLogprobs[i], lps.size()));
            sentLogprobs[i] = lps.size();
            FinishReason f = acc.finish();
            if (delta.isEmpty() && f == null && started[i]) {
                return null;
            }
            boolean first = !started[i];
            started[i] = true;
            return out.chunk(i, delta, first, newLps, f);
        });
        Dispatcher.Running running = dispatcher.run(ctx, req.items(), new Dispatcher.Listener() {
            @Override
            public void onOutput(int i, GenerationAccumulator acc) {
                accs[i] = acc;
                if (stream != null) {
                    stream.ready(i);
                }
            }

            @Override
            public void onFailure(FinishReason f) {
                var err = ErrorBodies.openAiBody(f.statusCode(), f.message(), null);
                if (stream != null) {
                    stream.fail(err);
                } else {
                    Replies.json(ctx, f.statusCode(), err);
                }
            }

            @Override
            public void onComplete(List<GenerationAccumulator> all) {
                if (stream == null) {
                    Replies.json(ctx, 200, out.finalBody(all));
                } else {
                    stream.complete(req.includeUsage() ? out.usageChunk(all) : null);
                }
            }
        });
        if (stream != null) {
            stream.onStall(() -> running.abort("the client stopped reading its stream (sse_stall_timeout)"))
                    .onPause(running::pause);
        }
        running.submitted().onFailure(t -> Replies.openAiError(ctx, t));
    }
}
