package dev.tandem.engine.compute;

/**
 * One layer's attention split over the compute pool ({@link VectorBackend#attention}), and the per-worker scratch it
 * needs. A unit of work is a token's GQA group ({@link GroupedAttention}: its K/V read once for the whole group). A
 * decode step of one request has too few of those to keep every thread busy (3 groups on 2 threads), so its context
 * is shared out by chunks instead ({@link AttentionChunks}: each thread attends every group over its runs of
 * positions and the caller combines the chunks), or, for a context of one chunk, its query heads in equal runs.
 * Every split gives the same bits. Reused, so a call allocates nothing once the scratch has grown.
 */
final class AttentionJob implements ParallelFor.RangeBody {
    private enum Split {
        /** Pieces of the tokens' GQA groups, last tokens first. */
        UNITS,
        /** Pieces of {@code parallel.threads()}: a lone token's query heads in equal runs. */
        HEADS,
        /** Pieces of a lone token's chunks, every group of each. */
        CHUNKS
    }

    private final ParallelFor parallel;
    private final float[][] scores;  // (worker) -> scores of one GQA group over one chunk
    private final float[][] scratch; // (worker) -> the score blocks' scratch
    private final float[][] parts;   // (worker) -> chunk partials; [0] holds a lone token's, from every worker
    private AttentionBatch b;
    private Split split;

    AttentionJob(ParallelFor parallel) {
        this.parallel = parallel;
        this.scores = new float[parallel.threads()][0];
        this.scratch = new float[parallel.threads()][0];
        this.parts = new float[parallel.threads()][0];
    }

    void attend(AttentionBatch batch) {
        grow(scores, GroupedAttention.scoreScratch(batch, batch.maxLength()));
        grow(scratch, GroupedAttention.accScratch(batch));
        grow(parts, GroupedAttention.partScratch(batch, batch.maxLength()));
        int groups = batch.numTokens() * batch.numKvHeads();
        int threads = parallel.threads();
        int chunks = AttentionChunks.count(batch.maxLength());
        boolean few = groups < 2 * threads && threads > 1;
        split = !few ? Split.UNITS
                : batch.numTokens() == 1 && chunks > 1 ? Split.CHUNKS
                : batch.groupSize() > 1 ? Split.HEADS : Split.UNITS;
        b = batch;
        try {
            switch (split) {
                case CHUNKS -> {
                    parallel.run(chunks, 1, this);
                    combineLoneToken(chunks);
                }
                case HEADS -> parallel.run(threads, 1, this);
                case UNITS -> parallel.run(groups, 1, this);
            }
        } finally {
            b = null;
        }
    }

    @Override
    public void run(int from, int to, int worker) {
        switch (split) {
            case CHUNKS -> chunks(from, to, worker);
            case HEADS -> heads(from, to, worker);
            case UNITS -> units(from, to, worker);
        }
    }

    /** Chunks {@code [from, to)} of the lone token, every group: one run of positions, its whole rows touched once. */
    private void chunks(int from, int to, int worker) {
        int len = b.positions()[0] + 1;
        int g = b.groupSize();
        int stride = AttentionChunks.stride(b.headDim());
        GroupedAttention.touchRunIfCold(b, from * AttentionChunks.CHUNK, Math.min(len, to * AttentionChunks.CHUNK));
        for (int c = from; c < to; c++) {
            for (int kvHead = 0; kvHead < b.numKvHeads(); kvHead++) {
                GroupedAttention.chunk(b, 0, kvHead, c, len, scores[worker], scratch[worker], parts[0],
                        (c * b.numHeads() + kvHead * g) * stride, 0, g);
            }
        }
    }

    /** The lone token's chunk partials (in {@code parts[0]}, chunk-major) into its output, head by head. */
    private void combineLoneToken(int chunks) {
        int hd = b.headDim();
        int stride = AttentionChunks.stride(hd);
        for (int h = 0; h < b.numHeads(); h++) {
            AttentionChunks.combine(parts[0], h * stride, b.numHeads() * stride, chunks, hd, b.out(), h * hd);
        }
    }

    /** Pieces {@code [from, to)} of {@code parallel.threads()}: query heads (token-major) in equal runs. */
    private void heads(int from, int to, int worker) {
        int g = b.groupSize();
        int heads = b.numTokens() * b.numHeads();
        int threads = parallel.threads();
        int start = (int) ((long) heads * from / threads);
        int end = (int) ((long) heads * to / threads);
        for (int i = start; i < end; ) {
            int t = i / b.numHeads();
            int h = i % b.numHeads();
            int g0 = h % g;
            int g1 = Math.min(g, g0 + end - i); // the rest of this group, or of the run
            GroupedAttention.touchIfCold(b, t, h / g, b.positions()[t] + 1);
            GroupedAttention.attend(b, t, h / g, b.positions()[t] + 1, scores[worker], scratch[worker],
                    parts[worker], g0, g1);
            i += g1 - g0;
        }
    }

    /** Units {@code [from, to)}: tokens' GQA groups. */
    private void units(int from, int to, int worker) {
        int n = b.numTokens() * b.numKvHeads();
        int rowsTouched = -1;
        for (int i0 = from; i0 < to; i0++) {
            // Last tokens first: in a causal prefill they attend over the most positions, so the costly pieces
            // are claimed first and the cheap ones even out the threads at the end.
            int i = n - 1 - i0;
            int t = i / b.numKvHeads();
            int kvHead = i % b.numKvHeads();
            // Every group of token t falls in this piece (its last K/V head comes first, its head 0 before `to`):
            // touch its whole K/V rows at once; otherwise each group touches its own head.
            if (kvHead == b.numKvHeads() - 1 && i0 + kvHead < to
                    && GroupedAttention.touchRowsIfCold(b, t, b.positions()[t] + 1)) {
                rowsTouched = t;
            }
            if (rowsTouched != t) {
                GroupedAttention.touchIfCold(b, t, kvHead, b.positions()[t] + 1);
            }
            GroupedAttention.attend(b, t, kvHead, b.positions()[t] + 1, scores[worker], scratch[worker],
                    parts[worker]);
        }
    }

    /**
     * Makes every worker's {@code scratch} hold at least {@code need} floats. Grows by doubling, so a long decode
     * reallocates a handful of times in its life, never per step.
     */
    private static void grow(float[][] perWorker, int need) {
        if (perWorker[0].length < need) {
            int size = Math.max(need, 2 * perWorker[0].length);
            for (int i = 0; i < perWorker.length; i++) {
                perWorker[i] = new float[size];
            }
        }
    }
}
