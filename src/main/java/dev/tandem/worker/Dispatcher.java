package dev.tandem.worker;

import dev.tandem.api.ApiException;
import dev.tandem.api.GenerateInput;
import dev.tandem.api.GenerationAccumulator;
import dev.tandem.scheduler.FinishReason;
import dev.tandem.scheduler.RequestOutput;
import dev.tandem.scheduler.SchedulerRequest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Turns parsed API items into scheduler requests: tokenizes off the event loop, checks token ids, submits, and
 * brings every output back to the calling event loop, where it lands in the item's accumulator.
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

    /**
     * Runs {@code items} as one request of {@code ctx}: tokenizes off the event loop, submits, and reports through
     * {@code listener}. The first failing item fails the whole request and aborts the others; a client that goes
     * away aborts whatever is unfinished. Fails with an {@link ApiException} before anything is submitted when an
     * item is invalid.
     */
    Future<Void> run(RoutingContext ctx, List<GenerateInput> items, Listener listener) {
        long start = System.nanoTime();
        List<GenerationAccumulator> accs = new ArrayList<>();
        for (GenerateInput in : items) {
            accs.add(new GenerationAccumulator(in, id -> engine.tokenizer().decode(new int[] {id}, false), start));
        }
        int[] finished = {0};
        boolean[] failed = {false};
        return submit(items, accs, (i, acc) -> {
            if (failed[0]) {
                return;
            }
            FinishReason f = acc.finish();
            if (f != null && f.isAbort() && f.statusCode() != 499) {
                failed[0] = true;
                abortUnfinished(accs, "a sibling request failed");
                listener.onFailure(f);
                return;
            }
            listener.onOutput(i, acc);
            if (f != null && ++finished[0] == accs.size()) {
                listener.onComplete(accs);
            }
        }).onSuccess(v -> ctx.addEndHandler(ar -> {
            // Vert.x Web fails the end handlers when the client goes away before the response ended.
            if (ar.failed()) {
                abortUnfinished(accs, "client disconnected");
            }
        }));
    }

    /** Tokenizes and submits; {@code onUpdate} hears (item index, its accumulator) after each output. */
    private Future<Void> submit(List<GenerateInput> items, List<GenerationAccumulator> accs,
                                BiConsumer<Integer, GenerationAccumulator> onUpdate) {
        Context ctx = vertx.getOrCreateContext();
        return vertx.executeBlocking(() -> tokenize(items)).map(ids -> {
            for (int i = 0; i < items.size(); i++) {
                int index = i;
                GenerateInput in = items.get(i);
                GenerationAccumulator acc = accs.get(i);
                engine.loop().submit(new SchedulerRequest(in.rid(), ids.get(i), in.params(), in.returnLogprob(),
                        in.logprobStartLen(), in.topLogprobsNum(), in.stop(),
                        (RequestOutput o) -> ctx.runOnContext(v -> {
                            acc.add(o);
                            onUpdate.accept(index, acc);
                        }), in.bootstrap()));
            }
            return null;
        });
    }

    private List<int[]> tokenize(List<GenerateInput> items) {
        int vocab = engine.model().config().vocabSize();
        List<int[]> out = new ArrayList<>();
        for (GenerateInput in : items) {
            int[] ids = in.inputIds() != null ? in.inputIds() : engine.tokenizer().encode(in.text(), true);
            for (int id : ids) {
                if (id >= vocab) {
                    throw ApiException.badField("input_ids", id, "token id outside the vocabulary [0, " + vocab + ")");
                }
            }
            if (ids.length == 0) {
                throw ApiException.badField("text", "\"" + in.text() + "\"", "tokenizes to nothing");
            }
            out.add(ids);
        }
        return out;
    }

    /** Aborts every item not finished yet (client went away, or a sibling failed). */
    private void abortUnfinished(List<GenerationAccumulator> accs, String why) {
        for (GenerationAccumulator a : accs) {
            if (!a.finished()) {
                engine.loop().abort(a.input().rid(), why);
            }
        }
    }
}
