package dev.tandem.worker;

import dev.tandem.api.ApiException;
import dev.tandem.api.GenerateInput;
import dev.tandem.api.GenerationAccumulator;
import dev.tandem.scheduler.RequestOutput;
import dev.tandem.scheduler.SchedulerRequest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

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

    /**
     * Submits {@code items}; {@code onUpdate} hears (item index, its accumulator) after each output, on the caller's
     * context. Fails with an {@link ApiException} before anything is submitted when an item is invalid.
     */
    Future<List<GenerationAccumulator>> submit(List<GenerateInput> items,
                                               BiConsumer<Integer, GenerationAccumulator> onUpdate) {
        Context ctx = vertx.getOrCreateContext();
        long start = System.nanoTime();
        return vertx.executeBlocking(() -> tokenize(items)).map(ids -> {
            List<GenerationAccumulator> accs = new ArrayList<>();
            for (GenerateInput in : items) {
                accs.add(new GenerationAccumulator(in, id -> engine.tokenizer().decode(new int[] {id}, false), start));
            }
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
            return accs;
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
    void abortUnfinished(List<GenerationAccumulator> accs, String why) {
        for (GenerationAccumulator a : accs) {
            if (!a.finished()) {
                engine.loop().abort(a.input().rid(), why);
            }
        }
    }
}
