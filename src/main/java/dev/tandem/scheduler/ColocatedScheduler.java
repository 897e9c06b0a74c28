package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.model.Transformer;
import dev.tandem.engine.sampling.Sampler;
import dev.tandem.hicache.HiCache;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.tokenizer.TextTokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/**
 * Continuous batching for a colocated worker (SGLang's {@code --disaggregation-mode null}). Each {@link #step()}
 * gives every decoding request its next token, spends up to {@code chunked_prefill_size} prompt tokens on
 * requests still prefilling (the running ones first, then new ones admitted while KV pages and
 * {@code max_running_requests} allow), and runs all of it as one ragged forward pass. When a decoding request needs
 * a page and none is free, requests are retracted, fewest output tokens first, back to the head of the waiting
 * queue. Single-threaded: only the scheduler thread calls it.
 */
public final class ColocatedScheduler implements Scheduler {
    private final Transformer model;
    private final PagedKvCache kv;
    private final TextTokenizer tokenizer;
    private final List<Integer> eosIds;
    private final SchedulerConfig cfg;
    private final SchedulerObserver observer;
    private final TokenProcessor tokens;
    private final PrefixCache prefix;
    private final Deque<RequestState> waiting = new ArrayDeque<>();
    private final List<RequestState> running = new ArrayList<>();
    /** This step's requests and their chunks, index for index: reused from step to step (nothing kept across). */
    private final List<RequestState> batch = new ArrayList<>();
    private final List<SequenceChunk> chunks = new ArrayList<>();
    private final BatchPicker picker = new BatchPicker();
    private long generated;
    private long promptTokens;
    private long retractions;
    private boolean offloadOnRetract;

    public ColocatedScheduler(Transformer model, PagedKvCache kv, TextTokenizer tokenizer, List<Integer> eosIds,
                              SchedulerConfig cfg, SchedulerObserver observer) {
        this(model, kv, tokenizer, eosIds, cfg, observer, null);
    }

    /** @param hiCache the tiers behind the prefix cache (host memory, storage), or null for none */
    public ColocatedScheduler(Transformer model, PagedKvCache kv, TextTokenizer tokenizer, List<Integer> eosIds,
                              SchedulerConfig cfg, SchedulerObserver observer, HiCache hiCache) {
        this.model = model;
        this.kv = kv;
        this.tokenizer = tokenizer;
        this.eosIds = List.copyOf(eosIds);
        this.cfg = cfg;
        this.observer = observer;
        this.tokens = new TokenProcessor(eosIds, observer);
        this.prefix = cfg.radixCache() ? PrefixCache.radix(kv, hiCache)
                : hiCache != null ? PrefixCache.offloadOnly(kv, hiCache) : PrefixCache.disabled(kv);
    }

    /** Queues {@code r}, or finishes it at once with a 400 when it can never fit. */
    @Override
    public void submit(SchedulerRequest r) {
        String tooBig = Admission.rejection(r, cfg, kv.allocator().totalPages() * kv.pool().pageSize());
        RequestState s = new RequestState(r, new Sampler(r.params(), eosIds),
                tokenizer.incrementalDecoder(true), System.nanoTime());
        if (tooBig != null) {
            tokens.refuse(s, tooBig);
            return;
        }
        waiting.addLast(s);
        prefix.queued(s);
    }

    /**
     * Retract by copying a request's KV to host memory and back on resume (SGLang's decode workers, §6.5) instead
     * of recomputing it (colocated workers). Either way the output is unchanged.
     */
    void offloadOnRetract(boolean on) {
        this.offloadOnRetract = on;
    }

    /**
     * Takes over a request whose prompt KV is already in the cache (row {@code s.row}, {@code s.computed} tokens):
     * the decode worker's requests after their transfer. It joins the running batch at the next step.
     */
    void adopt(RequestState s) {
        running.add(s);
    }

    /** Requests in the running batch. */
    int runningCount() {
        return running.size();
    }

    /** Requests waiting (new or retracted). */
    int waitingCount() {
        return waiting.size();
    }

    /** Characters the stop-string scans examined so far (see {@link TokenProcessor#stopWork()}). */
    long stopMatchWork() {
        return tokens.stopWork();
    }

    /** Ends what {@code scope} covers wherever it is, returning its pages; false when nothing matched. */
    @Override
    public boolean abort(RequestScope scope, String message) {
        boolean any = false;
        for (Iterator<RequestState> it = waiting.iterator(); it.hasNext(); ) {
            RequestState s = it.next();
            if (s.matches(scope)) {
                it.remove();
                finishAborted(s, message);
                any = true;
            }
        }
        for (Iterator<RequestState> it = running.iterator(); it.hasNext(); ) {
            RequestState s = it.next();
            if (s.matches(scope)) {
                it.remove();
                finishAborted(s, message);
                any = true;
            }
        }
        return any;
    }

    private void finishAborted(RequestState s, String message) {
        releaseKv(s, true);
        s.dropOffloaded();
        s.finish = FinishReason.abort(message, 499);
        tokens.emit(s);
    }

    @Override
    public void pause(RequestScope scope, boolean paused) {
        for (RequestState s : running) {
            if (s.matches(scope)) {
                s.paused = paused;
            }
        }
        for (RequestState s : waiting) {
            if (s.matches(scope)) {
                s.paused = paused;
            }
        }
    }

    /** Aborts everything (shutdown or an engine failure) with {@code statusCode}. */
    @Override
    public void abortAll(String message, int statusCode) {
        List<RequestState> all = new ArrayList<>(running);
        all.addAll(waiting);
        running.clear();
        waiting.clear();
        for (RequestState s : all) {
            releaseKv(s, false); // after a failed step the KV is suspect: cache none of it
            s.dropOffloaded();
            s.finish = FinishReason.abort(message, statusCode);
            tokens.emit(s);
        }
    }

    @Override
    public boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    /** One scheduling round and forward pass. */
    @Override
    public boolean step() {
        reserveDecodeSlots();
        batch.clear();
        chunks.clear();
        int budget = cfg.chunkedPrefillSize() < 0 ? Integer.MAX_VALUE : cfg.chunkedPrefillSize();
        for (int r = 0; r < running.size(); r++) { // indexed: no iterator per step
            RequestState s = running.get(r);
            if (s.remaining() == 1 && !s.paused) {
                batch.add(s);
                chunks.add(ChunkPlanner.chunk(s, 1));
            }
        }
        for (int r = 0; r < running.size(); r++) {
            RequestState s = running.get(r);
            if (s.remaining() > 1 && budget > 0) {
                int n = Math.min(s.remaining(), budget);
                if (!kv.ensureCapacity(s.row, s.computed + n)) {
                    break;
                }
                budget -= n;
                batch.add(s);
                chunks.add(ChunkPlanner.chunk(s, n));
            }
        }
        budget = admit(batch, chunks, budget);
        if (chunks.isEmpty()) {
            failStuckHead();
            publish();
            return false;
        }
        ForwardOutput out = model.forward(chunks, kv);
        // First every row's bookkeeping and whether it samples now; then the plain rows pick their tokens on the
        // compute threads; then, row by row in order, each takes its token, the stop rules and its output.
        picker.reset(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            RequestState s = batch.get(i);
            SequenceChunk c = chunks.get(i);
            s.computed += c.tokens().length;
            if (s.computed <= s.promptLen) {
                promptTokens += c.tokens().length;
            }
            tokens.afterChunk(s, c, out, i);
            if (s.finish == null && s.computed == s.fillLen()) {
                if (s.outputs() >= s.req.params().maxNewTokens()) {
                    s.finish = FinishReason.length(s.outputs());
                } else {
                    picker.samples(i);
                }
            }
        }
        picker.pick(model.backend(), batch, out);
        for (int i = 0; i < batch.size(); i++) {
            RequestState s = batch.get(i);
            if (picker.sampling(i)) {
                int picked = picker.picked(i);
                if (picked >= 0) {
                    tokens.acceptPicked(s, picked);
                } else {
                    tokens.sample(s, out, i, tokenizer);
                }
                generated++;
            }
            tokens.emit(s);
        }
        int kept = 0; // drop the finished ones, in order, without a lambda per step
        for (int r = 0; r < running.size(); r++) {
            RequestState s = running.get(r);
            if (s.finish != null) {
                releaseKv(s, true);
            } else {
                running.set(kept++, s);
            }
        }
        while (running.size() > kept) {
            running.removeLast();
        }
        batch.clear();
        chunks.clear();
        publish();
        return true;
    }

    /** Admits waiting requests while rows, pages, {@code max_running_requests} and the token budget allow. */
    private int admit(List<RequestState> batch, List<SequenceChunk> chunks, int budget) {
        while (!waiting.isEmpty() && running.size() < cfg.maxRunningRequests() && budget > 0) {
            RequestState s = waiting.peekFirst();
            if (s.offloaded == null && !prefix.ready(s)) {
                break; // its pages are still coming from storage; the running batch goes on meanwhile
            }
            int row = kv.allocateRow();
            if (row < 0) {
                break;
            }
            s.row = row;
            // A retracted decode request gets its KV back from host memory and goes on from there; any other
            // starts after the longest prefix the cache holds.
            int cached = s.offloaded != null ? s.offloaded.tokens() : 0;
            if (s.offloaded == null) {
                prefix.attach(s);
                cached = s.computed;
            }
            int n = Math.min(s.fillLen() - cached, budget);
            if (!kv.ensureCapacity(row, cached + n)) {
                prefix.undoAttach(s);
                break;
            }
            if (s.offloaded != null) {
                kv.restore(row, s.offloaded); // pages are there: only copies
                s.computed = cached;
                s.dropOffloaded();
            }
            waiting.pollFirst();
            running.add(s);
            budget -= n;
            batch.add(s);
            chunks.add(ChunkPlanner.chunk(s, n));
        }
        return budget;
    }

    /**
     * Every decoding request needs one more slot. When pages run out, retract the running request with the fewest
     * output tokens (the longer prompt among equals) until the needy one fits or was itself retracted.
     */
    private void reserveDecodeSlots() {
        for (int i = 0; i < running.size(); i++) {
            RequestState s = running.get(i);
            if (s.remaining() != 1) {
                continue;
            }
            while (!kv.ensureCapacity(s.row, s.fillLen())) {
                // SGLang's order: fewest output tokens first, the longer prompt among equals.
                RequestState victim = running.stream()
                        .min(Comparator.comparingInt(RequestState::outputs)
                                .thenComparing(Comparator.comparingInt((RequestState r) -> r.promptLen).reversed()))
                        .orElseThrow();
                retract(victim);
                if (victim == s) {
                    i--;
                    break;
                }
                i = running.indexOf(s);
            }
        }
    }

    private void retract(RequestState s) {
        running.remove(s);
        if (offloadOnRetract && s.computed > 0 && s.row >= 0) {
            s.offloaded = kv.offload(s.row, s.computed);
        }
        releaseKv(s, false);
        s.computed = 0;
        waiting.addFirst(s);
        retractions++;
        observer.onRetract(1);
    }

    /**
     * Nothing could run although requests wait and no page is held by anyone (on a decode worker, requests in
     * transfer hold pages outside this batch): the head can never be served.
     */
    private void failStuckHead() {
        // A head still holding its prefetch was never tried (admission waits for storage), so it is not stuck.
        if (running.isEmpty() && !waiting.isEmpty() && waiting.peekFirst().prefetch == null
                && kv.allocator().usedPages() - prefix.evictablePages() == 0) {
            RequestState s = waiting.pollFirst();
            s.finish = FinishReason.abort("request " + s.rid() + " does not fit in an empty KV pool of "
                    + kv.allocator().totalPages() + " pages", 400);
            tokens.emit(s);
        }
    }

    /** Ends {@code s}'s hold on the KV; with {@code cache}, its computed tokens stay in the prefix cache. */
    private void releaseKv(RequestState s, boolean cache) {
        prefix.release(s, cache);
    }

    /** SGLang's flush_cache: only when no request is queued or running; drops every cached prefix. */
    @Override
    public boolean flushCache() {
        return flushCache(false);
    }

    @Override
    public boolean flushCache(boolean storage) {
        return !hasWork() && prefix.flush(storage);
    }

    @Override
    public java.util.List<dev.tandem.kvevents.KvEvent> takeKvEvents() {
        return prefix.takeEvents();
    }

    @Override
    public java.util.List<dev.tandem.kvevents.KvEvent> kvSnapshot() {
        return prefix.snapshot();
    }

    private void publish() {
        observer.onStep(stats());
    }

    /** The hierarchical cache's counters, or null without one. */
    public dev.tandem.hicache.HiCacheStats tierStats() {
        return prefix.tierStats();
    }

    @Override
    public SchedulerStats stats() {
        long waitingTokens = 0;
        for (RequestState s : waiting) {
            waitingTokens += s.fillLen();
        }
        // Pages only the prefix cache holds are free for the taking: SGLang counts them as available too.
        int used = kv.allocator().usedPages() - prefix.evictablePages();
        int paused = 0;
        for (RequestState s : running) {
            paused += s.paused ? 1 : 0;
        }
        return new SchedulerStats(running.size(), waiting.size(), used, kv.allocator().totalPages(),
                kv.pool().pageSize(), (long) used * kv.pool().pageSize() + waitingTokens, generated, promptTokens,
                retractions, SchedulerStats.Pd.NONE, prefix.cachedPages(), prefix.hitTokens(), paused);
    }
}
