package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.Transformer;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.engine.sampling.Sampler;
import dev.tandem.engine.sampling.TokenLogprob;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.tokenizer.TextTokenizer;
import dev.tandem.transfer.AuxBuffers;
import dev.tandem.transfer.Bootstrap;
import dev.tandem.transfer.KvPoll;
import dev.tandem.transfer.KvReceiver;
import dev.tandem.transfer.KvReceiverManager;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/**
 * The decode worker's scheduler (SGLang's {@code dis/decode.py}). A request's life:
 * <ol>
 *   <li>prealloc queue: its receiver registers with the prefill worker (BOOTSTRAPPING → WAITING_FOR_INPUT); when
 *       memory allows ({@code prompt + num_reserved_decode_tokens} against free pages minus what running and
 *       transferring requests reserve, §6.4) it gets a table row, pages for its prompt and an aux slot, and the
 *       receiver sends them to the prefill side;</li>
 *   <li>transfer queue: until the prefill side reports the room (SUCCESS or FAILED);</li>
 *   <li>then, with no forward pass (SGLang's "prebuilt extend"), the prefill's first token is appended from the
 *       aux row and the request joins the running batch, which decodes, retracts and finishes exactly like a
 *       colocated worker's.</li>
 * </ol>
 */
public final class DecodeScheduler implements Scheduler {
    private final PagedKvCache kv;
    private final TextTokenizer tokenizer;
    private final List<Integer> eosIds;
    private final SchedulerConfig cfg;
    private final KvReceiverManager receivers;
    private final AuxBuffers aux;
    private final int reservedDecodeTokens;
    private final int defaultBootstrapPort;
    private final TokenProcessor tokens;
    private final ColocatedScheduler running; // the decode batch, shared logic with the colocated worker
    private final Deque<Integer> freeAuxSlots = new ArrayDeque<>();
    private final List<Entry> prealloc = new ArrayList<>();
    private final List<Entry> transferring = new ArrayList<>();
    private final SchedulerObserver observer;
    private long bootstrapFailed;
    private long transferFailed;

    private static final class Entry {
        final RequestState s;
        final KvReceiver receiver;
        int auxSlot = -1;
        FinishReason pendingAbort;
        /** The client has its answer; the entry stays only until its pages may be freed. */
        boolean answered;

        Entry(RequestState s, KvReceiver receiver) {
            this.s = s;
            this.receiver = receiver;
        }
    }

    public DecodeScheduler(Transformer model, PagedKvCache kv, TextTokenizer tokenizer, List<Integer> eosIds,
                           SchedulerConfig cfg, KvReceiverManager receivers, AuxBuffers aux,
                           int reservedDecodeTokens, int defaultBootstrapPort, SchedulerObserver observer) {
        this(model, kv, tokenizer, eosIds, cfg, receivers, aux, reservedDecodeTokens, defaultBootstrapPort, observer,
                null);
    }

    /** @param offload where finished requests' KV goes (decode offload to storage), or null */
    public DecodeScheduler(Transformer model, PagedKvCache kv, TextTokenizer tokenizer, List<Integer> eosIds,
                           SchedulerConfig cfg, KvReceiverManager receivers, AuxBuffers aux,
                           int reservedDecodeTokens, int defaultBootstrapPort, SchedulerObserver observer,
                           dev.tandem.hicache.HiCache offload) {
        this.kv = kv;
        this.tokenizer = tokenizer;
        this.eosIds = List.copyOf(eosIds);
        this.cfg = cfg;
        this.receivers = receivers;
        this.aux = aux;
        this.reservedDecodeTokens = reservedDecodeTokens;
        this.defaultBootstrapPort = defaultBootstrapPort;
        this.tokens = new TokenProcessor(eosIds, observer);
        this.observer = observer;
        this.running = new ColocatedScheduler(model, kv, tokenizer, eosIds, cfg.withoutRadixCache(), observer,
                offload);
        running.offloadOnRetract(true);
        for (int i = 0; i < aux.slots(); i++) {
            freeAuxSlots.add(i);
        }
    }

    @Override
    public void submit(SchedulerRequest r) {
        RequestState s = new RequestState(r, new Sampler(r.params(), eosIds), tokenizer.incrementalDecoder(true),
                System.nanoTime());
        Bootstrap b = r.bootstrap();
        String refusal = Admission.pdRejection(r, cfg, kv.allocator().totalPages() * kv.pool().pageSize());
        if (refusal == null && b.host() == null) {
            refusal = "Invalid request: bootstrap_host is missing for room " + b.room();
        }
        KvReceiver receiver = null;
        if (refusal == null) {
            try {
                receiver = receivers.create(b.port() > 0 ? b : new Bootstrap(b.host(), defaultBootstrapPort, b.room()));
            } catch (IllegalStateException e) {
                refusal = e.getMessage();
            }
        }
        if (refusal != null) {
            tokens.refuse(s, refusal);
            return;
        }
        prealloc.add(new Entry(s, receiver));
    }

    @Override
    public boolean abort(RequestScope scope, String message) {
        boolean found = false;
        for (List<Entry> q : List.of(prealloc, transferring)) {
            for (Entry e : q) {
                if (e.s.matches(scope) && e.pendingAbort == null) {
                    e.pendingAbort = FinishReason.abort(message, 499);
                    receivers.abort(e.receiver, "Aborted by AbortReq.");
                    found = true;
                }
            }
        }
        return running.abort(scope, message) || found;
    }

    @Override
    public void pause(RequestScope scope, boolean paused) {
        for (List<Entry> q : List.of(prealloc, transferring)) {
            for (Entry e : q) {
                if (e.s.matches(scope)) {
                    e.s.paused = paused;
                }
            }
        }
        running.pause(scope, paused);
    }

    /**
     * Shutdown, {@code abort_all} or an engine failure: every client is answered now; a room whose pages a push may
     * still reach keeps them until the prefill side confirms (or its leases ran out), as with any failed room.
     */
    @Override
    public void abortAll(String message, int statusCode) {
        for (List<Entry> q : List.of(prealloc, transferring)) {
            for (Iterator<Entry> it = q.iterator(); it.hasNext(); ) {
                Entry e = it.next();
                receivers.abort(e.receiver, message);
                answer(e, FinishReason.abort(message, statusCode));
                if (e.receiver.quiet()) {
                    release(e);
                    it.remove();
                }
            }
        }
        running.abortAll(message, statusCode);
    }

    @Override
    public boolean hasWork() {
        return !prealloc.isEmpty() || !transferring.isEmpty() || running.hasWork();
    }

    @Override
    public boolean step() {
        boolean moved = popPreallocated();
        moved |= popTransferred();
        if (running.hasWork()) {
            moved |= running.step();
        }
        return moved;
    }

    /** Tokens free for new transfers after what every admitted request may still need (SGLang §6.4, simplified). */
    private long allocatable() {
        long free = (long) kv.allocator().freePages() * kv.pool().pageSize();
        long reserved = (long) reservedDecodeTokens * (running.runningCount() + running.waitingCount()
                + transferring.size());
        return free - reserved;
    }

    private boolean popPreallocated() {
        boolean moved = false;
        long alloc = allocatable();
        for (Iterator<Entry> it = prealloc.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            KvPoll st = receivers.poll(e.receiver).status();
            if (e.pendingAbort != null || st == KvPoll.FAILED) {
                it.remove();
                moved = true;
                bootstrapFailed += e.pendingAbort == null ? 1 : 0;
                finish(e, e.pendingAbort != null ? e.pendingAbort
                        : FinishReason.abort("Decode handshake failed: " + e.receiver.failure(), 500));
                continue;
            }
            if (st != KvPoll.WAITING_FOR_INPUT) {
                continue;
            }
            int need = e.s.promptLen + Math.min(reservedDecodeTokens, e.s.req.params().maxNewTokens());
            if (need > alloc || freeAuxSlots.isEmpty()
                    || running.runningCount() + transferring.size() >= cfg.maxRunningRequests()) {
                break; // FIFO: later requests wait behind this one
            }
            int row = kv.allocateRow();
            if (row < 0) {
                break;
            }
            if (!kv.ensureCapacity(row, e.s.promptLen)) {
                kv.release(row);
                break;
            }
            alloc -= need;
            e.s.row = row;
            e.auxSlot = freeAuxSlots.poll();
            it.remove();
            transferring.add(e);
            receivers.init(e.receiver, kv.pagesOf(row), e.auxSlot);
            moved = true;
        }
        return moved;
    }

    private boolean popTransferred() {
        boolean moved = false;
        for (Iterator<Entry> it = transferring.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            KvPoll st = receivers.poll(e.receiver).status();
            if (st == KvPoll.FAILED && !e.receiver.quiet()) {
                // The client hears now; the pages stay reserved until the prefill side can no longer write them.
                answer(e, failure(e));
                continue;
            }
            if (!st.concluded()) {
                continue;
            }
            it.remove();
            moved = true;
            if (e.answered) {
                release(e);
            } else if (st == KvPoll.FAILED || e.pendingAbort != null) {
                finish(e, failure(e));
            } else {
                prebuilt(e);
            }
        }
        return moved;
    }

    /** The prefill's KV is in our pages: take its first token from the aux row and start decoding. */
    private void prebuilt(Entry e) {
        RequestState s = e.s;
        long bytes = 2L * kv.pool().numLayers() * kv.pool().pageBytes() * kv.pagesOf(s.row).length;
        observer.onKvReceived(bytes, System.nanoTime() - e.receiver.initNanos());
        AuxBuffers.Row row = aux.read(e.auxSlot);
        releaseAux(e);
        receivers.clear(e.receiver);
        s.computed = s.promptLen;
        s.cachedTokens = row.cachedTokens(); // the prefill's prefix-cache hit, reported as SGLang's cached_tokens
        s.inputLogprobsDone = true; // the prefill worker returns them
        List<TokenLogprob> top = new ArrayList<>();
        for (int i = 0; i < Math.min(row.topIds().length, s.req.topLogprobsNum()); i++) {
            top.add(new TokenLogprob(row.topLogprobs()[i], row.topIds()[i]));
        }
        s.sampler.acceptSampledElsewhere(row.tokenId());
        tokens.accept(s, new Sampled(row.tokenId(), row.logprob(), top));
        if (s.finish != null) {
            kv.release(s.row);
            s.row = -1;
            tokens.emit(s);
            return;
        }
        tokens.emit(s);
        running.adopt(s);
    }

    private void finish(Entry e, FinishReason reason) {
        release(e);
        answer(e, reason);
    }

    /** Why a room that failed (or was aborted by its client) ends; counted once. */
    private FinishReason failure(Entry e) {
        if (e.pendingAbort != null) {
            return e.pendingAbort;
        }
        if (!e.answered) {
            transferFailed++;
        }
        return FinishReason.abort("Decode transfer failed: " + e.receiver.failure(), 500);
    }

    private void answer(Entry e, FinishReason reason) {
        if (!e.answered) {
            e.answered = true;
            e.s.finish = reason;
            tokens.emit(e.s);
        }
    }

    private void release(Entry e) {
        if (e.s.row >= 0) {
            kv.release(e.s.row);
            e.s.row = -1;
        }
        releaseAux(e);
        receivers.clear(e.receiver);
    }

    private void releaseAux(Entry e) {
        if (e.auxSlot >= 0) {
            freeAuxSlots.add(e.auxSlot);
            e.auxSlot = -1;
        }
    }

    @Override
    public SchedulerStats stats() {
        SchedulerStats inner = running.stats();
        long queued = 0;
        for (Entry e : prealloc) {
            queued += e.s.promptLen;
        }
        return new SchedulerStats(inner.running(), inner.waiting() + prealloc.size() + transferring.size(),
                inner.usedPages(), inner.totalPages(), inner.pageSize(), inner.load() + queued,
                inner.generatedTokens(), inner.promptTokens(), inner.retractions(),
                new SchedulerStats.Pd(prealloc.size(), transferring.size(), bootstrapFailed, transferFailed), 0, 0,
                inner.paused());
    }
}
