package dev.tandem.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.engine.Generator;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.engine.sampling.TokenLogprob;
import dev.tandem.scheduler.FinishReason;
import dev.tandem.scheduler.RequestOutput;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Collects the outputs of one request and renders SGLang's response shapes (reference §3.2–3.3): the final object
 * {@code {"text", "output_ids", "meta_info"}} and stream chunks whose {@code text} is cumulative, whose
 * {@code output_ids} are new since the previous chunk, and whose counts are cumulative. Not thread-safe: one event
 * loop feeds it.
 */
public final class GenerationAccumulator {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final GenerateInput input;
    private final IntFunction<String> tokenText;
    private final long startNanos;
    private final StringBuilder text = new StringBuilder();
    private final List<Integer> outputIds = new ArrayList<>();
    private final List<Sampled> outputLogprobs = new ArrayList<>();
    private final List<Generator.InputLogprob> inputLogprobs = new ArrayList<>();
    private int streamedIds; // output ids already sent in stream chunks
    private int promptTokens;
    private int completionTokens;
    private int cachedTokens;
    private FinishReason finish;

    /** @param tokenText a token's text, for {@code return_text_in_logprobs} */
    public GenerationAccumulator(GenerateInput input, IntFunction<String> tokenText, long startNanos) {
        this.input = input;
        this.tokenText = tokenText;
        this.startNanos = startNanos;
    }

    public void add(RequestOutput o) {
        for (int id : o.newIds()) {
            outputIds.add(id);
        }
        text.append(o.textDelta());
        outputLogprobs.addAll(o.newLogprobs());
        inputLogprobs.addAll(o.inputLogprobs());
        promptTokens = o.promptTokens();
        completionTokens = o.completionTokens();
        cachedTokens = o.cachedTokens();
        if (o.finish() != null) {
            finish = o.finish();
        }
    }

    public boolean finished() {
        return finish != null;
    }

    public FinishReason finish() {
        return finish;
    }

    public String text() {
        return text.toString();
    }

    public List<Integer> outputIds() {
        return outputIds;
    }

    public List<Sampled> outputLogprobs() {
        return outputLogprobs;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int completionTokens() {
        return completionTokens;
    }

    public GenerateInput input() {
        return input;
    }

    /** The non-streaming response object. */
    public ObjectNode finalObject() {
        return render(0);
    }

    /**
     * A stream chunk: cumulative text, the ids new since the previous chunk, cumulative meta_info. A stream paused
     * for a slow reader thus catches up with one chunk.
     */
    public ObjectNode streamChunk() {
        ObjectNode o = render(streamedIds);
        streamedIds = outputIds.size();
        return o;
    }

    private ObjectNode render(int idsFrom) {
        ObjectNode o = F.objectNode();
        o.put("text", text.toString());
        ArrayNode ids = o.putArray("output_ids");
        for (int i = idsFrom; i < outputIds.size(); i++) {
            ids.add(outputIds.get(i));
        }
        ObjectNode meta = o.putObject("meta_info");
        meta.put("id", input.rid());
        if (finish == null) {
            meta.putNull("finish_reason");
        } else {
            meta.set("finish_reason", finishJson(finish));
        }
        meta.put("prompt_tokens", promptTokens);
        meta.put("weight_version", "default");
        meta.put("completion_tokens", completionTokens);
        meta.put("cached_tokens", cachedTokens);
        if (finish != null) {
            meta.put("e2e_latency", (System.nanoTime() - startNanos) / 1e9);
        }
        if (input.returnLogprob()) {
            logprobs(meta);
        }
        return o;
    }

    private void logprobs(ObjectNode meta) {
        ArrayNode in = meta.putArray("input_token_logprobs");
        for (Generator.InputLogprob l : inputLogprobs) {
            in.add(triple(l.logprob(), l.tokenId()));
        }
        ArrayNode out = meta.putArray("output_token_logprobs");
        for (Sampled s : outputLogprobs) {
            out.add(triple(s.logprob(), s.tokenId()));
        }
        if (input.topLogprobsNum() > 0) {
            ArrayNode inTop = meta.putArray("input_top_logprobs");
            for (Generator.InputLogprob l : inputLogprobs) {
                inTop.add(l.top() == null ? F.nullNode() : triples(l.top()));
            }
            ArrayNode outTop = meta.putArray("output_top_logprobs");
            for (Sampled s : outputLogprobs) {
                outTop.add(triples(s.top()));
            }
        }
    }

    private ArrayNode triples(List<TokenLogprob> top) {
        ArrayNode a = F.arrayNode();
        for (TokenLogprob t : top) {
            a.add(triple(t.logprob(), t.tokenId()));
        }
        return a;
    }

    /** SGLang's {@code [logprob, token_id, text|null]}. */
    private ArrayNode triple(Float logprob, int id) {
        ArrayNode t = F.arrayNode();
        if (logprob == null) {
            t.addNull();
        } else {
            t.add(logprob);
        }
        t.add(id);
        if (input.returnTextInLogprobs()) {
            t.add(tokenText.apply(id));
        } else {
            t.addNull();
        }
        return t;
    }

    public static ObjectNode finishJson(FinishReason f) {
        ObjectNode o = F.objectNode();
        o.put("type", f.type());
        switch (f.type()) {
            case "length" -> o.put("length", f.length());
            case "stop" -> {
                if (f.matched() instanceof Integer i) {
                    o.put("matched", i);
                } else {
                    o.put("matched", String.valueOf(f.matched()));
                }
            }
            default -> {
                o.put("message", f.message());
                o.put("status_code", f.statusCode());
                o.putNull("err_type");
            }
        }
        return o;
    }
}
