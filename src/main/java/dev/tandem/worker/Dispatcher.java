package dev.tandem.worker;

import dev.tandem.api.ApiException;
import dev.tandem.api.GenerateInput;
import dev.tandem.api.GenerationAccumulator;
import dev.tandem.grammar.GrammarException;
import dev.tandem.grammar.GrammarSpec;
import dev.tandem.grammar.TokenGrammar;
import dev.tandem.scheduler.RequestScope;
import dev.tandem.scheduler.FinishReason;
import dev.tandem.scheduler.OutputSink;
import dev.tandem.scheduler.RequestOutput;
import dev.tandem.scheduler.SchedulerRequest;
import dev.tandem.scheduler.StopStrings;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns parsed API items into scheduler requests: tokenizes and compiles stop strings off the event loop, checks
 * token ids, submits, and brings every output back to the calling event loop, where it lands in the item's
 * accumulator.
 */
final class Dispatcher {
    private final Vertx vertx;
    private final WorkerEngine engine;

    Dispatcher(Vertx vertx, WorkerEngine engine) {
        this.vertx = vertx;
        this.engine = engine;
    }

    /** What a route does with a request's outputs; all calls on the route's event loop. */
    interface Listener {
        /** Item {@code index} has new output (its accumulator holds everything so far). */
        void onOutput(int index, GenerationAccumulator acc);

        /**
         * An item failed (a refusal or an engine error, not a client abort): the request has failed. Its siblings
         * are already being aborted; nothing else will be reported.
         */
        void onFailure(FinishReason reason);

        /** Every item finished. */
        void onComplete(List<GenerationAccumulator> accs);
    }

    /** One dispatched request, as its route sees it. Event-loop confined. */
    final class Running {
        private final List<GenerationAccumulator> accs;
        private final List<OutputSink> sinks;
        private Future<Void> submitted;
        private boolean aborted;

        private Running(List<GenerationAccumulator> accs, List<OutputSink> sinks) {
            this.accs = accs;
            this.sinks = sinks;
        }

        /** Completes once every item is queued; fails with an {@link ApiException} when an item is invalid. */
        Future<Void> submitted() {
            return submitted;
        }

        /** Holds back (or lets go) the decoding of every unfinished item: its reader is behind (or caught up). */
        void pause(boolean paused) {
            for (int i = 0; i < accs.size(); i++) {
                if (!accs.get(i).finished()) {
                    engine.loop().pause(new RequestScope.Exact(sinks.get(i)), paused);
                }
            }
        }

        /**
         * Ends every unfinished item of this request, and only them (by identity, not by rid: another client may
         * use the same rid). Before submission, nothing is submitted at all.
         */
        void abort(String why) {
            aborted = true;
            for (int i = 0; i < accs.size(); i++) {
                if (!accs.get(i).finished()) {
                    engine.loop().abort(new RequestScope.Exact(sinks.get(i)), why);
                }
            }
        }
    }

    /**
     * Runs {@code items} as one request of {@code ctx}: prepares them off the event loop, submits, and reports
     * through {@code listener}. The first failing item fails the whole request and aborts the others; a client
     * that goes away aborts whatever is unfinished.
     */
    Running run(RoutingContext ctx, List<GenerateInput> items, Listener listener) {
        long start = System.nanoTime();
        Context context = vertx.getOrCreateContext();
        List<GenerationAccumulator> accs = new ArrayList<>();
        List<OutputSink> sinks = new ArrayList<>();
        Running running = new Running(accs, sinks);
        int[] finished = {0};
        boolean[] failed = {false};
        for (int i = 0; i < items.size(); i++) {
            int index = i;
            GenerationAccumulator acc = new GenerationAccumulator(items.get(i),
                    id -> engine.tokenizer().decode(new int[] {id}, false), start);
            accs.add(acc);
            sinks.add((RequestOutput o) -> context.runOnContext(v -> {
                acc.add(o);
                if (failed[0]) {
                    return;
                }
                FinishReason f = acc.finish();
                if (f != null && f.isAbort() && f.statusCode() != 499) {
                    failed[0] = true;
                    running.abort("a sibling request failed");
                    listener.onFailure(f);
                    return;
                }
                listener.onOutput(index, acc);
                if (f != null && ++finished[0] == accs.size()) {
                    listener.onComplete(accs);
                }
            }));
        }
        running.submitted = vertx.executeBlocking(() -> prepare(items, sinks)).map(reqs -> {
            if (!running.aborted) {
                engine.loop().submitAll(reqs);
            }
            return (Void) null;
        }).onSuccess(v -> ctx.addEndHandler(ar -> {
            // Vert.x Web fails the end handlers when the client goes away before the response ended.
            if (ar.failed()) {
                running.abort("client disconnected");
            }
        }));
        return running;
    }

    /** The compiled constraint (from the worker's cache), or null; a constraint that cannot compile is a 400. */
    private TokenGrammar grammar(GrammarSpec spec) {
        if (spec == null) {
            return null;
        }
        try {
            return engine.grammars().get(spec);
        } catch (GrammarException e) {
            throw new ApiException(400, "Invalid " + spec.field() + ": " + e.getMessage(), spec.field());
        }
    }

    /** Tokenizes, checks ids and compiles stop strings (once per distinct list: n copies share theirs). */
    private List<SchedulerRequest> prepare(List<GenerateInput> items, List<OutputSink> sinks) {
        int vocab = engine.model().config().vocabSize();
        Map<List<String>, StopStrings> compiled = new IdentityHashMap<>();
        List<SchedulerRequest> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            GenerateInput in = items.get(i);
            int[] ids = in.inputIds() != null ? in.inputIds() : engine.tokenizer().encode(in.text(), true);
            for (int id : ids) {
                if (id >= vocab) {
                    throw ApiException.badField("input_ids", id, "token id outside the vocabulary [0, " + vocab + ")");
                }
            }
            if (ids.length == 0) {
                throw ApiException.badField("text", "\"" + in.text() + "\"", "tokenizes to nothing");
            }
            StopStrings stop = compiled.computeIfAbsent(in.stop(), StopStrings::of);
            out.add(new SchedulerRequest(in.rid(), in.group(), ids, in.params(), in.returnLogprob(),
                    in.logprobStartLen(), in.topLogprobsNum(), stop, sinks.get(i), in.bootstrap(),
                    grammar(in.constraint())));
        }
        return out;
    }
}
