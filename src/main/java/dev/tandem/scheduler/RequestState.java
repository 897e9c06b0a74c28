package dev.tandem.scheduler;

import dev.tandem.engine.Generator;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.engine.sampling.Sampler;
import dev.tandem.tokenizer.IncrementalDecoder;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A request inside the scheduler. Its token sequence is {@code fill = prompt ++ outputs}; the first
 * {@code computed} of them have K/V in the cache (in table row {@code row}). A request with one uncomputed token is
 * decoding; with more it is (re)prefilling. Retraction drops the KV and sets {@code computed} back to 0, so a resumed
 * request recomputes {@code prompt ++ outputs} and goes on from there: same tokens, same logits.
 */
final class RequestState {
    final SchedulerRequest req;
    final Sampler sampler;
    final long arrivalNanos;
    final int promptLen;
    private int[] fill;
    private int fillLen;
    int computed;
    int row = -1;
    boolean inputLogprobsDone;
    final List<Generator.InputLogprob> inputLogprobs = new ArrayList<>();
    final List<Sampled> pendingLogprobs = new ArrayList<>();
    int emittedIds;
    final IncrementalDecoder decoder;
    final StringBuilder text = new StringBuilder();
    /** Where the text stands in every stop string; fed only what each step appends to {@code text}. */
    final StopStrings.Scan stops;
    int emittedChars;
    long lastTokenNanos;
    FinishReason finish;
    /** Its reader is behind: decoding waits (a prefill still completes, with its first token). */
    boolean paused;
    /** The cached prefix this request borrows (locked in the radix tree), or null. */
    dev.tandem.kvcache.RadixCache.Match prefix;
    /** Prompt tokens whose KV came from the prefix cache (SGLang's {@code cached_tokens}). */
    int cachedTokens;
    /** Where the output stands in the request's structured-output constraint, or null when it has none. */
    final dev.tandem.grammar.GrammarMatcher grammar;
    /** Its storage prefetch (hierarchical cache), from queueing until admission, or null. */
    dev.tandem.hicache.Prefetch prefetch;
    /** Its host-to-pool load (hierarchical cache), from the admission that started it until it lands, or null. */
    Object load;
    /** The pool pages and missed pages its last attach counted (taken back if that admission is undone), or null. */
    int[] tierCounted;
    /** The KV copied to host memory when a decode worker retracted this request, or null. */
    dev.tandem.kvcache.HostKv offloaded;

    /** Frees the host copy of the KV, if any. */
    void dropOffloaded() {
        if (offloaded != null) {
            offloaded.close();
            offloaded = null;
        }
    }

    RequestState(SchedulerRequest req, Sampler sampler, IncrementalDecoder decoder, long arrivalNanos) {
        this.req = req;
        this.sampler = sampler;
        this.decoder = decoder;
        this.stops = req.stop().scan();
        this.arrivalNanos = arrivalNanos;
        this.promptLen = req.inputIds().length;
        this.fill = Arrays.copyOf(req.inputIds(), promptLen + Math.min(req.params().maxNewTokens(), 64));
        this.fillLen = promptLen;
        this.inputLogprobsDone = !req.returnLogprob() || req.logprobStartLen() < 0;
        this.grammar = req.grammar() != null ? req.grammar().matcher() : null;
    }

    String rid() {
        return req.rid();
    }

    /** Whether an abort for {@code scope} reaches this request (exact rules: {@link RequestScope}). */
    boolean matches(RequestScope scope) {
        return scope.covers(req);
    }

    int outputs() {
        return fillLen - promptLen;
    }

    /** Tokens whose K/V still have to be computed before the next token can be sampled. */
    int remaining() {
        return fillLen - computed;
    }

    int fillLen() {
        return fillLen;
    }

    int[] fillSlice(int from, int to) {
        return Arrays.copyOfRange(fill, from, to);
    }

    int token(int i) {
        return fill[i];
    }

    void append(int token) {
        if (fillLen == fill.length) {
            fill = Arrays.copyOf(fill, fill.length * 2);
        }
        fill[fillLen++] = token;
    }

    int[] outputIds() {
        return Arrays.copyOfRange(fill, promptLen, fillLen);
    }
}
