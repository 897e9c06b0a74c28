package dev.tandem.scheduler;

import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.model.ForwardOutput;

import java.util.Arrays;
import java.util.List;

/**
 * Picks the next token of every row of a step that samples plainly (no structured-output constraint, no logprobs
 * returned), spread over the compute threads, before the scheduler processes the rows one by one. Picking is per
 * request (its own sampler, random stream and counts; scratch per thread), so which thread picks a row changes
 * nothing; a sampled token costs ~0.9 ms over a 49k vocabulary, and at batch 32 the scheduler thread spent ~28 ms a
 * step picking them one after another while the other compute thread waited. Reused every step: nothing allocated.
 */
final class BatchPicker implements ComputeBackend.RowBody {
    private static final int NONE = -1;   // the row takes no token this step
    private static final int LATER = -2;  // it samples, on the scheduler thread (grammar or logprobs)
    private int[] picked = new int[0];    // (row) -> token id, NONE or LATER
    private int sampling;                 // rows marked by samples() this step
    private List<RequestState> batch;
    private ForwardOutput out;

    /** Starts a step of {@code rows} rows, none sampling. */
    void reset(int rows) {
        if (picked.length < rows) {
            picked = new int[Math.max(rows, 2 * picked.length)];
        }
        Arrays.fill(picked, 0, rows, NONE);
        sampling = 0;
    }

    /** Row {@code i} takes a token this step (the scheduler decided, once its chunk was counted). */
    void samples(int i) {
        picked[i] = LATER;
        sampling++;
    }

    /** Picks the tokens of the sampling rows that need nothing but an id; the others stay for the scheduler. */
    void pick(ComputeBackend backend, List<RequestState> batch, ForwardOutput out) {
        if (sampling == 0) {
            return; // a step of prompt chunks only: no fork/join for nothing
        }
        this.batch = batch;
        this.out = out;
        try {
            backend.forRows(batch.size(), this);
        } finally {
            this.batch = null;
            this.out = null;
        }
    }

    /** Whether row {@code i} takes a token this step. */
    boolean sampling(int i) {
        return picked[i] != NONE;
    }

    /** The token picked for row {@code i}, or a negative value when the scheduler samples it (or it takes none). */
    int picked(int i) {
        return picked[i];
    }

    @Override
    public void run(int from, int to) {
        for (int i = from; i < to; i++) {
            RequestState s = batch.get(i);
            if (picked[i] == LATER && s.grammar == null && !s.req.returnLogprob()) {
                picked[i] = s.sampler.next(out.logits(), out.lastOffset(i), out.vocab());
            }
        }
    }
}
