package dev.tandem.engine;

import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.model.Transformer;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.engine.sampling.Sampler;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.engine.sampling.TokenLogprob;
import dev.tandem.kvcache.PagedKvCache;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Runs one request start to finish on a model and a KV cache: prefill, then decode until a stop condition. The
 * command line and tests use it; the server's schedulers batch many requests with the same pieces. Frees the
 * request's KV pages whatever happens.
 */
public final class Generator {
    private final Transformer model;
    private final PagedKvCache kv;

    public Generator(Transformer model, PagedKvCache kv) {
        this.model = model;
        this.kv = kv;
    }

    /** Hears each token as it is produced. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(Sampled token);
    }

    /**
     * @param logprobStartLen first prompt position whose logprob is wanted, or -1 for none (SGLang's default)
     * @param topLogprobsNum  alternatives per position, 0 for none
     */
    public record Request(int[] prompt, SamplingParams params, int logprobStartLen, int topLogprobsNum) {
        public Request {
            if (prompt.length == 0) {
                throw new IllegalArgumentException("input_ids: the prompt is empty");
            }
            if (logprobStartLen >= prompt.length) {
                throw new IllegalArgumentException("logprob_start_len " + logprobStartLen
                        + " must be below the prompt length " + prompt.length);
            }
        }

        public static Request greedy(int[] prompt, int maxNewTokens) {
            return new Request(prompt, SamplingParams.greedy(maxNewTokens), -1, 0);
        }
    }

    /** Log-probability of prompt token {@code tokenId} (null at position 0: nothing predicts it) and its top-k. */
    public record InputLogprob(Float logprob, int tokenId, List<TokenLogprob> top) {
    }

    /** Why generation ended: "length", or "stop" with the matched id. */
    public record Finish(String type, int matched) {
    }

    public record Result(int[] outputIds, List<Sampled> outputLogprobs, List<InputLogprob> inputLogprobs,
                         Finish finish, long prefillNanos, long decodeNanos) {
    }

    public Result generate(Request req, List<Integer> eosIds, TokenListener listener) {
        SamplingParams p = req.params();
        int total = req.prompt().length + p.maxNewTokens();
        if (total > kv.maxContext()) {
            throw new IllegalArgumentException("prompt (" + req.prompt().length + " tokens) + max_new_tokens ("
                    + p.maxNewTokens() + ") exceeds the context length " + kv.maxContext());
        }
        Set<Integer> stops = new java.util.HashSet<>(p.stopTokenIds());
        if (!p.ignoreEos()) {
            stops.addAll(eosIds);
        }
        Sampler sampler = new Sampler(p, eosIds);
        int row = kv.allocateRow();
        if (row < 0) {
            throw new IllegalStateException("no free KV table row");
        }
        try {
            if (!kv.ensureCapacity(row, req.prompt().length)) {
                throw new IllegalStateException("not enough KV pages for a " + req.prompt().length + "-token prompt");
            }
            long t0 = System.nanoTime();
            int from = req.logprobStartLen() < 0 ? req.prompt().length - 1 : Math.max(req.logprobStartLen() - 1, 0);
            ForwardOutput out = model.forward(List.of(new SequenceChunk(row, 0, req.prompt(), from)), kv);
            List<InputLogprob> inputLogprobs = inputLogprobs(req, out);
            long prefill = System.nanoTime() - t0;
            List<Sampled> outputs = new ArrayList<>();
            if (p.maxNewTokens() == 0) {
                return new Result(new int[0], outputs, inputLogprobs, new Finish("length", 0), prefill, 0);
            }
            long t1 = System.nanoTime();
            ForwardOutput step = out; // its last row is read in place: the workspace holds it until the next forward
            int pos = req.prompt().length;
            Finish finish = null;
            while (finish == null) {
                Sampled s = sampler.sample(step.logits(), step.lastOffset(0), step.vocab(), req.topLogprobsNum());
                outputs.add(s);
                listener.onToken(s);
                if (stops.contains(s.tokenId()) && outputs.size() >= p.minNewTokens()) {
                    finish = new Finish("stop", s.tokenId());
                } else if (outputs.size() >= p.maxNewTokens()) {
                    finish = new Finish("length", outputs.size());
                } else {
                    if (!kv.ensureCapacity(row, pos + 1)) {
                        throw new IllegalStateException("KV pool exhausted at position " + pos);
                    }
                    step = model.forward(List.of(SequenceChunk.lastLogits(row, pos, s.tokenId())), kv);
                    pos++;
                }
            }
            int[] ids = outputs.stream().mapToInt(Sampled::tokenId).toArray();
            return new Result(ids, outputs, inputLogprobs, finish, prefill, System.nanoTime() - t1);
        } finally {
            kv.release(row);
        }
    }

    private static List<InputLogprob> inputLogprobs(Request req, ForwardOutput out) {
        if (req.logprobStartLen() < 0) {
            return List.of();
        }
        List<InputLogprob> list = new ArrayList<>();
        int start = req.logprobStartLen();
        int firstRowToken = Math.max(start - 1, 0); // logits row j predicts prompt[firstRowToken + j + 1]
        for (int i = start; i < req.prompt().length; i++) {
            int id = req.prompt()[i];
            if (i == 0) {
                list.add(new InputLogprob(null, id, null));
                continue;
            }
            float[] lp = Logprobs.logSoftmax(out.row(0, i - 1 - firstRowToken));
            list.add(new InputLogprob(lp[id], id, req.topLogprobsNum() > 0 ? Logprobs.topK(lp, req.topLogprobsNum()) : null));
        }
        return list;
    }
}
