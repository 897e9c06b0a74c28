package dev.tandem.scheduler;

import dev.tandem.engine.model.SequenceChunk;

/** Cuts the next chunk of a request's uncomputed tokens and decides which logits rows it needs. */
final class ChunkPlanner {
    private ChunkPlanner() {
    }

    /**
     * The next {@code n} uncomputed tokens of {@code s}. Logits are needed for the last token when the chunk reaches
     * the end of the sequence (to sample), and for the prompt positions whose logprobs were asked for: the row after
     * position {@code p} scores prompt token {@code p + 1}, so prompt logprobs from {@code start} need rows from
     * {@code start - 1}. Both sets are suffixes of the chunk, so one {@code logitsFrom} covers them.
     */
    static SequenceChunk chunk(RequestState s, int n) {
        int c0 = s.computed;
        int c1 = c0 + n;
        int firstRow = c1; // none
        if (c1 == s.fillLen()) {
            firstRow = c1 - 1;
        }
        if (!s.inputLogprobsDone) {
            int needFrom = Math.max(s.req.logprobStartLen() - 1, 0);
            int needTo = s.promptLen - 2; // last row that scores a prompt token
            if (needFrom <= needTo && c0 <= needTo && c1 - 1 >= needFrom) {
                firstRow = Math.min(firstRow, Math.max(needFrom, c0));
            }
        }
        return new SequenceChunk(s.row, c0, s.fillSlice(c0, c1), firstRow - c0);
    }
}
