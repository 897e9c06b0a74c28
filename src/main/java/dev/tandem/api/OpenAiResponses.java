package dev.tandem.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.config.ToolCallParser;
import dev.tandem.engine.sampling.Sampled;
import dev.tandem.engine.sampling.TokenLogprob;
import dev.tandem.scheduler.FinishReason;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/** OpenAI response bodies and stream chunks for completions and chat completions, built from accumulators. */
public final class OpenAiResponses {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final OpenAiRequest req;
    private final String model;
    private final long created = System.currentTimeMillis() / 1000;
    private final IntFunction<String> tokenText;
    private final ToolCallParser parser;

    public OpenAiResponses(OpenAiRequest req, String servedModel, IntFunction<String> tokenText) {
        this(req, servedModel, tokenText, null);
    }

    /** With {@code parser} (may be null), a chat request's output is split into content and {@code tool_calls}. */
    public OpenAiResponses(OpenAiRequest req, String servedModel, IntFunction<String> tokenText,
                           ToolCallParser parser) {
        this.req = req;
        this.model = req.modelOr(servedModel);
        this.tokenText = tokenText;
        this.parser = parser;
    }

    /** Whether outputs are parsed for tool calls (a stream then sends them as {@link ToolCallStream} finds them). */
    public boolean parsesToolCalls() {
        return req.chat() && req.tools() != null && req.tools().active() && parser != null;
    }

    private ToolCallParsing.Result toolCalls(String text) {
        return ToolCallParsing.parse(parser, text, req.tools().tools().stream().map(ChatTools.Tool::name)
                .collect(java.util.stream.Collectors.toSet()));
    }

    /** OpenAI's {@code tool_calls} list; with {@code indexed}, each carries its index (stream deltas). */
    private ArrayNode toolCallsNode(List<ToolCallParsing.Call> calls, boolean indexed) {
        ArrayNode a = F.arrayNode();
        for (int k = 0; k < calls.size(); k++) {
            ObjectNode c = a.addObject();
            if (indexed) {
                c.put("index", k);
            }
            c.put("id", "call_" + java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 24));
            c.put("type", "function");
            c.putObject("function").put("name", calls.get(k).name()).put("arguments", calls.get(k).arguments());
        }
        return a;
    }

    /** The finish reason of a choice that called tools: OpenAI says tool_calls, except for a named tool_choice. */
    private String toolFinish() {
        return req.tools().choice() == ChatTools.Choice.NAMED ? "stop" : "tool_calls";
    }

    /** A tool-call stream for one choice (null when this request's outputs are not parsed for calls). */
    public ToolCallStream toolCallStream() {
        return parsesToolCalls() ? new ToolCallStream(parser, req.tools().tools().stream().map(ChatTools.Tool::name)
                .collect(java.util.stream.Collectors.toSet())) : null;
    }

    /**
     * The chunks of a streamed choice parsed for tool calls as it is generated: {@code d}'s content and its
     * {@code tool_calls} deltas (the first of a call with index, id, type, name and empty arguments, then argument
     * fragments); with {@code f}, the finish reason on the last ({@code tool_calls} once a call was sent). Usually
     * one chunk; when {@code d} holds a call's first delta and a fragment of it (the text grew by several tokens
     * between two writes), each goes in a chunk of its own, as OpenAI never names one call twice in a chunk.
     */
    public List<ObjectNode> toolDeltaChunks(int index, ToolCallStream.Delta d, boolean first,
                                            List<Sampled> newLogprobs, FinishReason f, boolean called) {
        List<List<ToolCallStream.CallDelta>> groups = new ArrayList<>();
        groups.add(new ArrayList<>());
        for (ToolCallStream.CallDelta cd : d.calls()) {
            List<ToolCallStream.CallDelta> g = groups.getLast();
            if (g.stream().anyMatch(x -> x.index() == cd.index())) {
                groups.add(g = new ArrayList<>());
            }
            g.add(cd);
        }
        List<ObjectNode> out = new ArrayList<>(groups.size());
        for (int k = 0; k < groups.size(); k++) {
            boolean head = k == 0;
            boolean last = k == groups.size() - 1;
            ObjectNode o = chunk(index, head ? d.content() : "", first && head, head ? newLogprobs : List.of(),
                    last ? f : null);
            ObjectNode c = (ObjectNode) o.get("choices").get(0);
            if (!groups.get(k).isEmpty()) {
                ArrayNode a = ((ObjectNode) c.get("delta")).putArray("tool_calls");
                for (ToolCallStream.CallDelta cd : groups.get(k)) {
                    ObjectNode n = a.addObject().put("index", cd.index());
                    if (cd.id() != null) {
                        n.put("id", cd.id()).put("type", "function");
                        n.putObject("function").put("name", cd.name()).put("arguments", cd.arguments());
                    } else {
                        n.putObject("function").put("arguments", cd.arguments());
                    }
                }
            }
            if (last && f != null && called && f.type().equals("stop")) {
                c.put("finish_reason", toolFinish());
            }
            out.add(o);
        }
        return out;
    }

    private ObjectNode envelope(boolean chunk) {
        ObjectNode o = F.objectNode();
        o.put("id", req.id());
        o.put("object", req.chat() ? (chunk ? "chat.completion.chunk" : "chat.completion")
                : "text_completion");
        o.put("created", created);
        o.put("model", model);
        return o;
    }

    /** The whole response once every choice finished. */
    public ObjectNode finalBody(List<GenerationAccumulator> accs) {
        ObjectNode o = envelope(false);
        ArrayNode choices = o.putArray("choices");
        for (int i = 0; i < accs.size(); i++) {
            GenerationAccumulator a = accs.get(i);
            ObjectNode c = choices.addObject();
            c.put("index", i);
            ToolCallParsing.Result calls = parsesToolCalls() ? toolCalls(a.text()) : null;
            if (calls != null && !calls.calls().isEmpty()) {
                ObjectNode m = c.putObject("message").put("role", "assistant");
                if (calls.content().isEmpty()) {
                    m.putNull("content");
                } else {
                    m.put("content", calls.content());
                }
                m.set("tool_calls", toolCallsNode(calls.calls(), false));
            } else if (req.chat()) {
                c.putObject("message").put("role", "assistant").put("content", a.text());
            } else {
                c.put("text", a.text());
            }
            if (req.logprobs()) {
                c.set("logprobs", logprobs(a.outputLogprobs()));
            } else {
                c.putNull("logprobs");
            }
            finish(c, a.finish());
            if (calls != null && !calls.calls().isEmpty() && a.finish().type().equals("stop")) {
                c.put("finish_reason", toolFinish());
            }
        }
        o.set("usage", usage(accs));
        return o;
    }

    /** A chunk carrying {@code delta} for choice {@code index}; {@code finish} only on its last chunk. */
    public ObjectNode chunk(int index, String delta, boolean first, List<Sampled> newLogprobs, FinishReason finish) {
        ObjectNode o = envelope(true);
        ObjectNode c = o.putArray("choices").addObject();
        c.put("index", index);
        if (req.chat()) {
            ObjectNode d = c.putObject("delta");
            if (first) {
                d.put("role", "assistant");
            }
            if (!delta.isEmpty() || first) {
                d.put("content", delta);
            }
        } else {
            c.put("text", delta);
        }
        if (req.logprobs() && !newLogprobs.isEmpty()) {
            c.set("logprobs", logprobs(newLogprobs));
        } else {
            c.putNull("logprobs");
        }
        if (finish == null) {
            c.putNull("finish_reason");
        } else {
            finish(c, finish);
        }
        return o;
    }

    /** The final usage-only chunk ({@code stream_options.include_usage}). */
    public ObjectNode usageChunk(List<GenerationAccumulator> accs) {
        ObjectNode o = envelope(true);
        o.putArray("choices");
        o.set("usage", usage(accs));
        return o;
    }

    private ObjectNode usage(List<GenerationAccumulator> accs) {
        int prompt = 0;
        int completion = 0;
        for (int i = 0; i < accs.size(); i++) {
            if (i % req.n() == 0) {
                prompt += accs.get(i).promptTokens(); // a prompt counts once, however many choices
            }
            completion += accs.get(i).completionTokens();
        }
        ObjectNode u = F.objectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    private static void finish(ObjectNode c, FinishReason f) {
        c.put("finish_reason", switch (f.type()) {
            case "length" -> "length";
            case "stop" -> "stop";
            default -> "abort";
        });
        if (f.matched() instanceof Integer i) {
            c.put("matched_stop", i);
        } else if (f.matched() != null) {
            c.put("matched_stop", f.matched().toString());
        } else {
            c.putNull("matched_stop");
        }
    }

    private ObjectNode logprobs(List<Sampled> lps) {
        ObjectNode o = F.objectNode();
        if (req.chat()) {
            ArrayNode content = o.putArray("content");
            for (Sampled s : lps) {
                ObjectNode e = tokenEntry(s.tokenId(), s.logprob());
                ArrayNode top = e.putArray("top_logprobs");
                for (TokenLogprob t : s.top()) {
                    top.add(tokenEntry(t.tokenId(), t.logprob()));
                }
                content.add(e);
            }
            return o;
        }
        ArrayNode tokens = o.putArray("tokens");
        ArrayNode tokenLogprobs = o.putArray("token_logprobs");
        ArrayNode top = o.putArray("top_logprobs");
        for (Sampled s : lps) {
            tokens.add(tokenText.apply(s.tokenId()));
            tokenLogprobs.add(s.logprob());
            ObjectNode alt = top.addObject();
            for (TokenLogprob t : s.top()) {
                alt.put(tokenText.apply(t.tokenId()), t.logprob());
            }
        }
        return o;
    }

    private ObjectNode tokenEntry(int id, float logprob) {
        String t = tokenText.apply(id);
        ObjectNode e = F.objectNode();
        e.put("token", t);
        e.put("logprob", logprob);
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : t.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xFF);
        }
        return e;
    }
}
