package dev.tandem.scheduler;

import dev.tandem.engine.Generator;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.tokenizer.TextTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * What happens to a request after a forward pass: collect prompt logprobs, sample, detokenize, check stop
 * conditions, and emit what is new. Shared by every scheduler.
 */
final class TokenProcessor {
    private final List<Integer> eos; // distinct; a list scanned without boxing the token
    private final SchedulerObserver observer;
    private long stopWork;

    TokenProcessor(List<Integer> eosIds, SchedulerObserver observer) {
        this.eos = List.copyOf(new java.util.LinkedHashSet<>(eosIds));
        this.observer = observer;
    }

    /** Records the prompt logprobs that chunk {@code i} of {@code out} computed for {@code s}. */
    void afterChunk(RequestState s, SequenceChunk c, ForwardOutput out, int i) {
        if (s.inputLogprobsDone) {
            return;
        }
        int start = s.req.logprobStartLen();
        int topN = s.req.topLogprobsNum();
        if (c.startPos() == 0 && start == 0) {
            s.inputLogprobs.add(new Generator.InputLogprob(null, s.token(0), null));
        }
        for (int j = c.logitsFrom(); j < c.tokens().length; j++) {
            int p = c.startPos() + j;          // this row scores prompt token p + 1
            int q = p + 1;
            if (q < Math.max(start, 1) || q >= s.promptLen) {
                continue;
            }
            float[] lp = Logprobs.logSoftmax(out.row(i, j - c.logitsFrom()));
            int id = s.token(q);
            s.inputLogprobs.add(new Generator.InputLogprob(lp[id], id, topN > 0 ? Logprobs.topK(lp, topN) : null));
        }
        if (s.computed >= s.promptLen) {
            s.inputLogprobsDone = true;
        }
    }

    /**
     * Samples the next token of {@code s} from the last logits row of chunk {@code chunk} of {@code out}, read in
     * place (no vocabulary-sized copy per request per step; a structured-output constraint masks a copy).
     */
    void sample(RequestState s, ForwardOutput out, int chunk, TextTokenizer tokenizer) {
        if (s.grammar != null) {
            sample(s, out.last(chunk), tokenizer);
            return;
        }
        int topN = s.req.returnLogprob() ? s.req.topLogprobsNum() : 0;
        if (s.req.returnLogprob()) {
            accept(s, s.sampler.sample(out.logits(), out.lastOffset(chunk), out.vocab(), topN));
        } else { // nothing to report but the id: no Sampled per token
            acceptToken(s, s.sampler.next(out.logits(), out.lastOffset(chunk), out.vocab()), null);
        }
    }

    /** Appends the token {@link BatchPicker} picked for {@code s} from this step's logits, then the stop rules. */
    void acceptPicked(RequestState s, int token) {
        acceptToken(s, token, null);
    }

    /**
     * Samples the next token of {@code s} from {@code logits}, then applies the stop rules. This is the one place
     * where logits become a token: a structured-output constraint masks what it does not allow first (greedy and
     * sampled alike), and logprobs are those of the masked distribution.
     */
    void sample(RequestState s, float[] logits, TextTokenizer tokenizer) {
        float[] l = logits;
        if (s.grammar != null) {
            l = logits.clone();
            if (!s.grammar.mask(l)) {
                // The vocabulary cannot continue (no EOS where the constraint is complete): the output is whole.
                s.finish = s.grammar.complete() ? new FinishReason("stop", 0, null, null, 0) : FinishReason.abort(
                        s.grammar.failure() != null ? "structured output: " + s.grammar.failure()
                                : "the structured-output constraint cannot be continued with this vocabulary", 500);
                return;
            }
        }
        accept(s, s.sampler.sample(l, s.req.returnLogprob() ? s.req.topLogprobsNum() : 0));
    }

    /**
     * Appends a token produced elsewhere (the prefill worker's first token on a decode worker) after the sampler
     * recorded it, then applies the same stop rules as to a sampled one.
     */
    void accept(RequestState s, Sampled t) {
        acceptToken(s, t.tokenId(), t);
    }

    /** As {@link #accept(RequestState, Sampled)} for token {@code token}; {@code t} is null when no logprob is kept. */
    private void acceptToken(RequestState s, int token, Sampled t) {
        if (s.grammar != null && !s.grammar.accept(token)) {
            // Only a token sampled elsewhere can get here (the PD prefill's first token under another constraint).
            s.finish = FinishReason.abort("token " + token + " breaks the request's structured-output "
                    + "constraint", 500);
            return;
        }
        s.append(token);
        if (s.req.returnLogprob() && t != null) {
            s.pendingLogprobs.add(t);
        }
        long now = System.nanoTime();
        if (s.outputs() == 1) {
            observer.onFirstToken(now - s.arrivalNanos);
        } else {
            observer.onInterToken(now - s.lastTokenNanos);
        }
        s.lastTokenNanos = now;
        int before = s.text.length();
        s.decoder.add(token, s.text); // appends the completed characters in place: no string per token
        var p = s.req.params();
        if (s.outputs() >= p.minNewTokens()
                && (contains(p.stopTokenIds(), token) || (!p.ignoreEos() && contains(eos, token)))) {
            s.finish = FinishReason.stopToken(token);
        } else if (matchStopString(s, before)) {
            return;
        } else if (s.grammar != null && s.grammar.terminated()) {
            s.finish = FinishReason.stopToken(token); // EOS where the constraint is complete, even under ignore_eos
        } else if (s.outputs() >= p.maxNewTokens()) {
            s.finish = FinishReason.length(s.outputs());
        }
    }

    /** Whether {@code ids} holds {@code token}, without boxing it (ids above 127 would allocate an Integer). */
    private static boolean contains(List<Integer> ids, int token) {
        for (int k = 0; k < ids.size(); k++) {
            if (ids.get(k) == token) {
                return true;
            }
        }
        return false;
    }

    /**
     * Looks for a stop string ending in the newly decoded text (from {@code newFrom}); on a match, cuts the text
     * where it starts. The scan sees every character once, also before {@code min_new_tokens} (when matches are not
     * reported), so the work per step is proportional to the new text, not to the whole output.
     */
    private boolean matchStopString(RequestState s, int newFrom) {
        if (s.req.stop().isEmpty()) {
            return false;
        }
        long before = s.stops.examined();
        int p = s.stops.feed(s.text, newFrom, s.outputs() >= s.req.params().minNewTokens());
        stopWork += s.stops.examined() - before;
        if (p < 0) {
            return false;
        }
        int at = s.stops.matchStart();
        s.text.setLength(at);
        s.emittedChars = Math.min(s.emittedChars, at);
        s.finish = FinishReason.stopString(s.req.stop().strings().get(p));
        return true;
    }

    /** Ends {@code s} before it ran: a 400 whose message says why. */
    void refuse(RequestState s, String message) {
        s.finish = FinishReason.abort(message, 400);
        emit(s);
    }

    /** Sends {@code s}'s new ids, text and logprobs; the last output carries the finish reason. */
    void emit(RequestState s) {
        if (s.finish != null && !(s.finish.matched() instanceof String)) {
            s.decoder.flush(s.text); // the tail that was waiting for the rest of a character
        }
        int n = s.outputs();
        int[] ids = s.fillSlice(s.promptLen + s.emittedIds, s.promptLen + n);
        int releasable = s.text.length();
        if (s.finish == null) {
            releasable -= holdBack(s);
        }
        String delta = releasable > s.emittedChars ? s.text.substring(s.emittedChars, releasable) : "";
        if (ids.length == 0 && delta.isEmpty() && s.finish == null && s.inputLogprobs.isEmpty()) {
            return;
        }
        s.emittedChars = Math.max(s.emittedChars, releasable);
        s.emittedIds = n;
        List<Sampled> lps = s.pendingLogprobs.isEmpty() ? List.of() : new ArrayList<>(s.pendingLogprobs);
        s.pendingLogprobs.clear();
        List<Generator.InputLogprob> inLps = List.of();
        if (s.inputLogprobsDone && !s.inputLogprobs.isEmpty()) {
            inLps = List.copyOf(s.inputLogprobs);
            s.inputLogprobs.clear();
        } else if (s.finish != null && !s.inputLogprobs.isEmpty()) {
            inLps = List.copyOf(s.inputLogprobs);
            s.inputLogprobs.clear();
        }
        if (s.finish != null) {
            observer.onFinish(System.nanoTime() - s.arrivalNanos, s.promptLen, n, s.finish);
        }
        s.req.sink().onOutput(new RequestOutput(s.rid(), ids, delta, lps, inLps, s.finish, s.promptLen, n, s.cachedTokens));
    }

    /** Characters at the end of the text that could still grow into a stop string; not released yet. */
    private static int holdBack(RequestState s) {
        return s.req.stop().isEmpty() ? 0 : s.stops.holdBack();
    }

    /**
     * Characters the stop-string scans of this processor's requests have examined so far: tests hold it to a small
     * multiple of the text decoded, whatever the stop strings' lengths.
     */
    long stopWork() {
        return stopWork;
    }
}
