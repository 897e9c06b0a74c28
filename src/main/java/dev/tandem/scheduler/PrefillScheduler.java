package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.model.Transformer;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.engine.sampling.Sampler;
import dev.tandem.engine.sampling.TokenLogprob;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.tokenizer.TextTokenizer;
import dev.tandem.transfer.AuxBuffers;
import dev.tandem.transfer.KvPoll;
import dev.tandem.transfer.KvSender;
import dev.tandem.transfer.KvSenderManager;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/**
 * The prefill worker's scheduler (SGLang's {@code dis/prefill.py}). A request's life:
 * <ol>
 *   <li>bootstrap queue: its sender waits for the decode worker's destination (BOOTSTRAPPING → WAITING_FOR_INPUT);
 *       {@code max_new_tokens} is forced to 1;</li>
 *   <li>waiting queue, then chunked prefill; after each chunk the pages it completed are pushed to the decode
 *       worker on the transfer pool, the last chunk's partial page and the aux row (first token, logprobs) with
 *       the final push;</li>
 *   <li>inflight: its KV is held until the transfer concluded and every push finished; then it answers (one token,
 *       {@code finish_reason} length 0) or fails, and its pages are freed.</li>
 * </ol>
 * Single-threaded like every scheduler; the senders are thread-safe.
 */
public final class PrefillScheduler implements Scheduler {
    private final Transformer model;
    private final PagedKvCache kv;
    private final TextTokenizer tokenizer;
    private final List<Integer> eosIds;
    private final SchedulerConfig cfg;
    private final KvSenderManager senders;
    private final AuxBuffers aux; // one local slot per KV table row
    private final TokenProcessor tokens;
    private final PrefixCache prefix;
    private final List<Entry> bootstrapping = new ArrayList<>();
    private final Deque<Entry> waiting = new ArrayDeque<>();
    private final List<Entry> prefilling = new ArrayList<>();
    private final List<Entry> inflight = new ArrayList<>();
    private long promptTokens;
    private long generated;
    private long bootstrapFailed;
    private long transferFailed;

    /** A request and its sender; {@code pagesSent} pages of its prompt have been queued for transfer. */
    private static final class Entry {
        final RequestState s;
        final KvSender sender;
        int pagesSent;
        FinishReason pendingAbort;

        Entry(RequestState s, KvSender sender) {
            this.s = s;
            this.sender = sender;
        }
    }

    public PrefillScheduler(Transformer model, PagedKvCache kv, TextTokenizer tokenizer, List<Integer> eosIds,
                            SchedulerConfig cfg, KvSenderManager senders, AuxBuffers aux, SchedulerObserver observer) {
        this(model, kv, tokenizer, eosIds, cfg, senders, aux, observer, null);
    }

    /** @param hiCache the tiers behind the prefix cache (host memory, storage), or null for none */
    public PrefillScheduler(Transformer model, PagedKvCache kv, TextTokenizer tokenizer, List<Integer> eosIds,
                            SchedulerConfig cfg, KvSenderManager senders, AuxBuffers aux, SchedulerObserver observer,
                            dev.tandem.hicache.HiCache hiCache) {
        this.model = model;
        this.kv = kv;
        this.tokenizer = tokenizer;
        this.eosIds = List.copyOf(eosIds);
        this.cfg = cfg;
        this.senders = senders;
        this.aux = aux;
        this.tokens = new TokenProcessor(eosIds, observer);
        this.prefix = cfg.radixCache() ? PrefixCache.radix(kv, hiCache) : PrefixCache.disabled(kv);
    }

    @Override
    public void submit(SchedulerRequest r) {
        // One token, no stop strings; the same sink, so an abort of the client's item (RequestScope.Exact) finds it.
        SchedulerRequest one = new SchedulerRequest(r.rid(), r.group(), r.inputIds(), r.params().withMaxNewTokens(1),
                r.returnLogprob(), r.logprobStartLen(), r.topLogprobsNum(), StopStrings.NONE, r.sink(), r.bootstrap(),
                r.grammar());
        RequestState s = new RequestState(one, new Sampler(one.params(), eosIds), tokenizer.incrementalDecoder(true),
                System.nanoTime());
        String refusal = Admission.pdRejection(one, cfg, kv.allocator().totalPages() * kv.pool().pageSize());
        KvSender sender = null;
        if (refusal == null) {
            try {
                sender = senders.create(r.bootstrap().room(), r.bootstrap().fake());
            } catch (IllegalStateException e) {
                refusal = e.getMessage();
            }
        }
        if (refusal != null) {
            tokens.refuse(s, refusal);
            return;
        }
        bootstrapping.add(new Entry(s, sender));
        prefix.queued(s); // storage reads overlap the bootstrap
    }

    @Override
    public boolean abort(RequestScope scope, String message) {
        boolean found = false;
        for (List<Entry> q : List.of(bootstrapping, new ArrayList<>(waiting), prefilling, inflight)) {
            for (Entry e : q) {
                if (e.s.matches(scope) && e.pendingAbort == null) {
                    e.pendingAbort = FinishReason.abort(message, 499);
                    senders.fail(e.sender, "Aborted by AbortReq.");
                    found = true;
                }
            }
        }
        return found;
    }

    @Override
    public void abortAll(String message, int statusCode) {
        for (List<Entry> q : List.of(bootstrapping, new ArrayList<>(waiting), prefilling, inflight)) {
            for (Entry e : q) {
                if (e.pendingAbort == null) {
                    e.pendingAbort = FinishReason.abort(message, statusCode);
                    senders.fail(e.sender, message);
                }
            }
        }
        // No join on the scheduler thread: a push to a stalled peer can take until its deadline. Rooms whose pushes
        // are done finish now; the others stay in flight (their pages may still be read) and finish at the step
        // after their last push returns.
        reapAborted();
        pollInflight();
    }

    @Override
    public boolean hasWork() {
        return !bootstrapping.isEmpty() || !waiting.isEmpty() || !prefilling.isEmpty() || !inflight.isEmpty();
    }

    @Override
    public boolean step() {
        reapAborted();
        boolean moved = pollBootstrap();
        moved |= runPrefill();
        moved |= pollInflight();
        return moved;
    }

    /** Requests aborted outside the inflight queue end now; inflight ones end once their pushes drained. */
    private void reapAborted() {
        for (Iterator<Entry> it = bootstrapping.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.pendingAbort != null) {
                it.remove();
                finish(e, e.pendingAbort);
            }
        }
        for (Iterator<Entry> it = waiting.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.pendingAbort != null) {
                it.remove();
                finish(e, e.pendingAbort);
            }
        }
        for (Iterator<Entry> it = prefilling.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.pendingAbort != null) {
                it.remove();
                inflight.add(e); // its pages may still be being read by a push
            }
        }
    }

    private boolean pollBootstrap() {
        boolean moved = false;
        for (Iterator<Entry> it = bootstrapping.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            KvPoll st = senders.poll(e.sender);
            if (st == KvPoll.WAITING_FOR_INPUT) {
                it.remove();
                waiting.addLast(e);
                moved = true;
            } else if (st == KvPoll.FAILED) {
                it.remove();
                bootstrapFailed++;
                finish(e, FinishReason.abort(e.sender.failure(), 500));
                moved = true;
            }
        }
        return moved;
    }

    private boolean runPrefill() {
        List<Entry> batch = new ArrayList<>();
        List<SequenceChunk> chunks = new ArrayList<>();
        int budget = cfg.chunkedPrefillSize() < 0 ? Integer.MAX_VALUE : cfg.chunkedPrefillSize();
        for (Entry e : prefilling) {
            if (budget <= 0) {
                break;
            }
            int n = Math.min(e.s.remaining(), budget);
            budget -= n;
            batch.add(e);
            chunks.add(ChunkPlanner.chunk(e.s, n));
        }
        while (!waiting.isEmpty() && budget > 0 && prefilling.size() + inflight.size() < cfg.maxRunningRequests()) {
            Entry e = waiting.peekFirst();
            if (!prefix.ready(e.s)) {
                break; // its pages are still coming from storage
            }
            int row = kv.allocateRow();
            if (row < 0) {
                break;
            }
            // A cached prefix is borrowed (locked until the transfer is done: pushes read those pages), the rest
            // of the prompt's pages come at once: they stay until the transfer is done anyway.
            e.s.row = row;
            prefix.attach(e.s);
            if (!kv.ensureCapacity(row, e.s.promptLen)) {
                prefix.undoAttach(e.s);
                break;
            }
            waiting.pollFirst();
            prefilling.add(e);
            int n = Math.min(e.s.remaining(), budget);
            budget -= n;
            batch.add(e);
            chunks.add(ChunkPlanner.chunk(e.s, n));
        }
        if (chunks.isEmpty()) {
            return false;
        }
        ForwardOutput out = model.forward(chunks, kv);
        for (int i = 0; i < batch.size(); i++) {
            Entry e = batch.get(i);
            RequestState s = e.s;
            s.computed += chunks.get(i).tokens().length;
            promptTokens += chunks.get(i).tokens().length;
            tokens.afterChunk(s, chunks.get(i), out, i);
            boolean last = s.computed == s.promptLen;
            if (last) {
                tokens.sample(s, out, i, tokenizer);
                generated++;
                s.finish = null; // a prefill answers only when its transfer concluded
                Sampled first = s.pendingLogprobs.isEmpty() ? null : s.pendingLogprobs.get(0);
                aux.write(s.row, auxRow(s.token(s.promptLen), first, s.cachedTokens));
            }
            pushPages(e, last);
            if (last) {
                prefilling.remove(e);
                inflight.add(e);
            }
        }
        return true;
    }

    private static AuxBuffers.Row auxRow(int token, Sampled sampled, int cachedTokens) {
        if (sampled == null) {
            return new AuxBuffers.Row(token, 0f, new int[0], new float[0], cachedTokens);
        }
        List<TokenLogprob> top = sampled.top();
        int k = Math.min(top.size(), AuxBuffers.MAX_TOP);
        int[] ids = new int[k];
        float[] lps = new float[k];
        for (int j = 0; j < k; j++) {
            ids[j] = top.get(j).tokenId();
            lps[j] = top.get(j).logprob();
        }
        return new AuxBuffers.Row(token, sampled.logprob(), ids, lps, cachedTokens);
    }

    /** Queues the pages the prefill completed since the last push; the last push takes the rest and the aux row. */
    private void pushPages(Entry e, boolean last) {
        int ps = kv.pool().pageSize();
        int ready = last ? kv.pagesFor(e.s.promptLen) : e.s.computed / ps;
        if (ready <= e.pagesSent && !last) {
            return;
        }
        int[] pages = Arrays.copyOfRange(kv.pagesOf(e.s.row), e.pagesSent, ready);
        senders.send(e.sender, pages, e.pagesSent, last, e.s.row);
        e.pagesSent = ready;
    }

    private boolean pollInflight() {
        boolean moved = false;
        for (Iterator<Entry> it = inflight.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            KvPoll st = senders.poll(e.sender);
            if (!st.concluded() || !e.sender.drained()) {
                continue;
            }
            it.remove();
            moved = true;
            if (e.pendingAbort != null) {
                finish(e, e.pendingAbort);
            } else if (st == KvPoll.SUCCESS) {
                finish(e, FinishReason.length(0));
            } else {
                transferFailed++;
                finish(e, FinishReason.abort(e.sender.failure(), 500));
            }
        }
        return moved;
    }

    /** Every push of {@code e} is done (or none started): its prompt KV goes into the prefix cache. */
    private void finish(Entry e, FinishReason reason) {
        prefix.release(e.s, true); // computed KV is whole even for an abort: worth keeping
        senders.clear(e.sender);
        e.s.finish = reason;
        tokens.emit(e.s);
    }

    @Override
    public SchedulerStats stats() {
        long waitingTokens = 0;
        for (Entry e : waiting) {
            waitingTokens += e.s.promptLen;
        }
        for (Entry e : bootstrapping) {
            waitingTokens += e.s.promptLen;
        }
        int used = kv.allocator().usedPages() - prefix.evictablePages();
        return new SchedulerStats(prefilling.size() + inflight.size(), waiting.size() + bootstrapping.size(), used,
                kv.allocator().totalPages(), kv.pool().pageSize(), (long) used * kv.pool().pageSize() + waitingTokens,
                generated, promptTokens, 0, new SchedulerStats.Pd(bootstrapping.size(), inflight.size(),
                bootstrapFailed, transferFailed), prefix.cachedPages(), prefix.hitTokens(), 0);
    }

    @Override
    public boolean flushCache() {
        return flushCache(false);
    }

    @Override
    public boolean flushCache(boolean storage) {
        return !hasWork() && prefix.flush(storage);
    }

    @Override
    public List<dev.tandem.kvevents.KvEvent> takeKvEvents() {
        return prefix.takeEvents();
    }

    @Override
    public List<dev.tandem.kvevents.KvEvent> kvSnapshot() {
        return prefix.snapshot();
    }
}
