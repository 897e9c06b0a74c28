package dev.tandem.engine.compute;

/**
 * One layer's attention split over the compute pool ({@link VectorBackend#attention}), and the per-worker scratch it
 * needs. A unit of work is a token's GQA group ({@link GroupedAttention}: its K/V read once for the whole group). A
 * batch with too few groups to keep every thread busy (a decode step of one request: 3 groups on 2 threads) is split
 * otherwise: a lone token whose context holds several chunks by chunks ({@link AttentionChunks}: each thread attends
 * every group over its runs of positions and the caller combines the chunks), else by query heads in equal runs.
 * Every split gives the same bits. Reused, so a call allocates nothing once the scratch has grown.
 */
final class AttentionJob implements ParallelFor.RangeBody {
    enum Split {
        /** Pieces of the tokens' GQA groups, last tokens first. */
        UNITS,
        /** Pieces of {@code parallel.threads()}: the tokens' query heads (token-major) in equal runs. */
        HEADS,
        /** Pieces of a lone token's chunks, every group of each. */
        CHUNKS
    }

    /**
     * Pieces per thread for the {@link Split#UNITS} split, four times the pool's default: in a causal prefill a unit
     * costs in proportion to its token's position, so the pool's usual four pieces a thread left one thread finishing
     * a big piece while the other waited. A piece costs one uncontended claim. 512-token prefill attention alone
     * (9 heads over 3, two threads, alternating in one JVM, medians of 6): 4.82 ms a layer at 4, 4.44 at 16, 4.41 at
     * 64.
     */
    private static final int UNIT_PIECES_PER_THREAD = 16;

    private final ParallelFor parallel;
    private final float[][] scores;  // (worker) -> scores of one GQA group over one chunk
    private final float[][] scratch; // (worker) -> the score blocks' scratch
    private final float[][] parts;   // (worker) -> one GQA group's chunk partials
    private float[] loneParts = WorkerScratch.floats(0); // a lone token's chunk partials, every head, from every worker
    private AttentionBatch b;
    private Split split;

    AttentionJob(ParallelFor parallel) {
        this.parallel = parallel;
        this.scores = WorkerScratch.perWorker(parallel.threads(), 0);
        this.scratch = WorkerScratch.perWorker(parallel.threads(), 0);
        this.parts = WorkerScratch.perWorker(parallel.threads(), 0);
    }

    void attend(AttentionBatch batch) {
        grow(scores, GroupedAttention.scoreScratch(batch, batch.maxLength()));
        grow(scratch, GroupedAttention.blockScratch(batch));
        grow(parts, GroupedAttention.partScratch(batch, batch.maxLength(), batch.groupSize()));
        int groups = batch.numTokens() * batch.numKvHeads();
        int threads = parallel.threads();
        int chunks = AttentionChunks.count(batch.maxLength());
        split = split(batch.numTokens(), batch.numKvHeads(), batch.groupSize(), batch.maxLength(), threads);
        if (split == Split.CHUNKS) {
            loneParts = WorkerScratch.grown(loneParts,
                    GroupedAttention.partScratch(batch, batch.maxLength(), batch.numHeads()));
        }
        b = batch;
        try {
            switch (split) {
                case CHUNKS -> {
                    parallel.run(chunks, 1, this);
                    combineLoneToken(chunks);
                }
                case HEADS -> parallel.run(threads, 1, this);
                case UNITS -> parallel.run(groups, 1, UNIT_PIECES_PER_THREAD, this);
            }
        } finally {
            b = null;
        }
    }

    /**
     * How a batch of {@code tokens} tokens, {@code kvHeads} groups of {@code groupSize} query heads each, longest
     * context {@code maxLength}, is split over {@code threads} threads.
     */
    static Split split(int tokens, int kvHeads, int groupSize, int maxLength, int threads) {
        if (threads == 1 || tokens * kvHeads >= 2 * threads) {
            return Split.UNITS;
        }
        if (tokens == 1 && AttentionChunks.count(maxLength) > 1) {
            return Split.CHUNKS;
        }
        return groupSize > 1 ? Split.HEADS : Split.UNITS;
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
                GroupedAttention.chunk(b, 0, kvHead, c, len, scores[worker], scratch[worker], loneParts,
                        (c * b.numHeads() + kvHead * g) * stride, 0, g);
            }
        }
    }

    /** The lone token's chunk partials (in {@code loneParts}, chunk-major) into its output, head by head. */
    private void combineLoneToken(int chunks) {
        int hd = b.headDim();
        int stride = AttentionChunks.stride(hd);
        for (int h = 0; h < b.numHeads(); h++) {
            AttentionChunks.combine(loneParts, h * stride, b.numHeads() * stride, chunks, hd, b.out(), h * hd);
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

    /** Makes every worker's array hold at least {@code need} usable floats ({@link WorkerScratch#grown}). */
    static void grow(float[][] perWorker, int need) {
        for (int i = 0; i < perWorker.length; i++) {
            perWorker[i] = WorkerScratch.grown(perWorker[i], need);
        }
    }
}
