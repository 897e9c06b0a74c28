package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.config.ToolCallParser;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.grammar.GrammarSpec;
import dev.tandem.tokenizer.ChatTemplate;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * {@code /v1/completions} and {@code /v1/chat/completions} requests mapped onto generate items: one item per
 * (prompt, choice). Unknown fields are ignored, as OpenAI clients send many; known fields are type-checked.
 *
 * @param items        prompt-major: prompt {@code p}, choice {@code k} is item {@code p * n + k}
 * @param logprobs     per-token logprobs requested
 * @param topLogprobs  alternatives per token
 */
public record OpenAiRequest(String id, String model, boolean chat, List<GenerateInput> items, int n, boolean stream,
                            boolean includeUsage, boolean logprobs, int topLogprobs, ChatTools tools) {

    public OpenAiRequest(String id, String model, boolean chat, List<GenerateInput> items, int n, boolean stream,
                         boolean includeUsage, boolean logprobs, int topLogprobs) {
        this(id, model, chat, items, n, stream, includeUsage, logprobs, topLogprobs, null);
    }

    public static OpenAiRequest completions(JsonNode body) {
        return completions(body, RequestLimits.DEFAULT);
    }

    /** {@code /v1/completions}: prompts × {@code n} within {@code limits.maxBatchItems()}, stop strings bounded. */
    public static OpenAiRequest completions(JsonNode body, RequestLimits limits) {
        Json j = requireObject(body);
        JsonNode prompt = body.get("prompt");
        List<Object> prompts = new ArrayList<>(); // String or int[]
        if (prompt == null || prompt.isNull()) {
            throw new ApiException(400, "Missing field 'prompt'", "prompt");
        } else if (prompt.isTextual()) {
            prompts.add(prompt.asText());
        } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isIntegralNumber()) {
            prompts.add(Json.ids(prompt, "prompt"));
        } else if (prompt.isArray() && !prompt.isEmpty()) {
            limits.checkItems(prompt.size(), "prompt");
            for (JsonNode p : prompt) {
                if (p.isTextual()) {
                    prompts.add(p.asText());
                } else if (p.isArray()) {
                    prompts.add(Json.ids(p, "prompt"));
                } else {
                    throw ApiException.badField("prompt", p, "must be a string, a list of strings or token ids");
                }
            }
        } else {
            throw ApiException.badField("prompt", prompt, "must be a non-empty string, list of strings or token ids");
        }
        if (j.bool("echo", false)) {
            throw new ApiException(400, "echo is not supported by Tandem yet", "echo");
        }
        int lp = j.integer("logprobs", 0);
        if (lp < 0 || lp > 20) {
            throw ApiException.badField("logprobs", lp, "must be in [0, 20]");
        }
        boolean wantLp = body.has("logprobs") && !body.get("logprobs").isNull();
        return build(body, j, prompts, false, 16, wantLp, lp, limits, null, null);
    }

    public static OpenAiRequest chat(JsonNode body, ChatTemplate template) {
        return chat(body, template, RequestLimits.DEFAULT);
    }

    /** {@code /v1/chat/completions}: {@code n} within {@code limits.maxBatchItems()}, stop strings bounded. */
    public static OpenAiRequest chat(JsonNode body, ChatTemplate template, RequestLimits limits) {
        return chat(body, template, limits, null);
    }

    /**
     * As {@link #chat(JsonNode, ChatTemplate, RequestLimits)}; with {@code tools}, calls are written in
     * {@code parser}'s format ({@code tool_choice} required or named constrains the output to one), and without a
     * parser tools are refused.
     */
    public static OpenAiRequest chat(JsonNode body, ChatTemplate template, RequestLimits limits,
                                     ToolCallParser parser) {
        Json j = requireObject(body);
        JsonNode msgs = body.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw ApiException.badField("messages", msgs, "must be a non-empty list of {role, content}");
        }
        if (template == null) {
            throw ApiException.badRequest("This model has no chat template (tokenizer_config.json chat_template)");
        }
        List<ChatTemplate.Message> messages = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            messages.add(message(msgs.get(i), "messages[" + i + "]"));
        }
        boolean wantLp = j.bool("logprobs", false);
        int top = j.integer("top_logprobs", 0);
        if (top < 0 || top > 20) {
            throw ApiException.badField("top_logprobs", top, "must be in [0, 20]");
        }
        ChatTools tools = ChatTools.parse(body);
        if (tools != null && tools.active() && parser == null) {
            throw new ApiException(400, "tools: this worker parses no tool calls (start it with --tool-call-parser "
                    + "llama3 or qwen25)", "tools");
        }
        boolean withTools = tools != null && tools.active();
        String text = template.render(messages, true, withTools ? tools.forTemplate() : null);
        return build(body, j, List.of(text), true, SamplingParamsParser.DEFAULT_MAX_NEW_TOKENS, wantLp, top, limits,
                withTools ? tools : null, withTools ? tools.constraint(parser) : null);
    }

    private static ChatTemplate.Message message(JsonNode m, String where) {
        if (m == null || !m.isObject()) {
            throw ApiException.badField(where, m, "must be an object with role and content");
        }
        String role = new Json(m, where).string("role", null);
        if (role == null || !List.of("system", "user", "assistant", "tool", "developer").contains(role)) {
            throw ApiException.badField(where + ".role", m.get("role"), "must be system, user, assistant or tool");
        }
        JsonNode c = m.get("content");
        StringBuilder text = new StringBuilder();
        if (c == null || c.isNull()) {
            text.append("");
        } else if (c.isTextual()) {
            text.append(c.asText());
        } else if (c.isArray()) {
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asText())) {
                    throw ApiException.badField(where + ".content", part.path("type"), "only text parts are supported");
                }
                text.append(part.path("text").asText());
            }
        } else {
            throw ApiException.badField(where + ".content", c, "must be a string or a list of parts");
        }
        return new ChatTemplate.Message(role, text.toString());
    }

    private static OpenAiRequest build(JsonNode body, Json j, List<Object> prompts, boolean chat, int defaultMax,
                                       boolean logprobs, int top, RequestLimits limits, ChatTools tools,
                                       GrammarSpec toolConstraint) {
        int n = j.integer("n", 1);
        if (n < 1 || n > 128) {
            throw ApiException.badField("n", n, "must be in [1, 128]");
        }
        limits.checkItems((long) prompts.size() * n, "n");
        int max = j.integer("max_completion_tokens", j.integer("max_tokens", defaultMax));
        if (max < 0) {
            throw ApiException.badField(body.has("max_tokens") ? "max_tokens" : "max_completion_tokens", max,
                    "must be >= 0");
        }
        float temperature = j.number("temperature", 1f);
        if (temperature < 0 || temperature > 2) {
            throw ApiException.badField("temperature", temperature, "must be in [0, 2]");
        }
        float topP = j.number("top_p", 1f);
        if (topP <= 0 || topP > 1) {
            throw ApiException.badField("top_p", topP, "must be in (0, 1]");
        }
        List<String> stop = StopField.parse(body.get("stop"), "stop", limits);
        SamplingParams params;
        try {
            params = new SamplingParams(max, temperature, topP, j.integer("top_k", -1), j.number("min_p", 0f),
                    j.number("frequency_penalty", 0f), j.number("presence_penalty", 0f),
                    j.number("repetition_penalty", 1f), j.optionalLong("seed"),
                    StopField.tokenIds(j, "stop_token_ids", "stop_token_ids"),
                    j.bool("ignore_eos", false), j.integer("min_tokens", 0));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage().replace("sampling_params.", ""));
        }
        // A client (or gateway) rid names the request so /abort_request can reach every choice (rid-p-k).
        String rid = j.string("rid", null);
        if (rid != null && rid.isEmpty()) {
            throw ApiException.badField("rid", "\"\"", "must be a non-empty string");
        }
        String id = rid != null ? rid : (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        GrammarSpec constraint = responseFormat(body.get("response_format"));
        if (toolConstraint != null) {
            if (constraint != null) {
                throw ApiException.badField("response_format", body.get("response_format"),
                        "cannot be combined with tool_choice required or a named function");
            }
            constraint = toolConstraint;
        }
        List<GenerateInput> items = new ArrayList<>();
        var bootstrap = BootstrapFields.parse(body, 0, false);
        BootstrapFields.checkCopies(bootstrap, (long) prompts.size() * n);
        for (int p = 0; p < prompts.size(); p++) {
            for (int k = 0; k < n; k++) {
                SamplingParams pk = params.seed() != null && k > 0 ? params.withSeed(params.seed() + k) : params;
                Object pr = prompts.get(p);
                items.add(new GenerateInput(id + "-" + p + "-" + k, id, pr instanceof String s ? s : null,
                        pr instanceof int[] ids ? ids : null, pk, stop, logprobs, -1, logprobs ? top : 0, false,
                        BootstrapFields.copy(bootstrap, p * n + k), constraint));
            }
        }
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        return new OpenAiRequest(id, j.string("model", null), chat, List.copyOf(items), n, j.bool("stream", false),
                includeUsage, logprobs, top, tools);
    }

    /**
     * OpenAI's {@code response_format}: {@code text} (no constraint), {@code json_object} (any JSON object) or
     * {@code json_schema} ({@code {"json_schema": {"name", "schema", "strict"}}}); anything else is a 400.
     */
    static GrammarSpec responseFormat(JsonNode rf) {
        if (rf == null || rf.isNull()) {
            return null;
        }
        if (!rf.isObject()) {
            throw ApiException.badField("response_format", rf, "must be an object with a type");
        }
        String type = rf.path("type").asText("");
        return switch (type) {
            case "text" -> null;
            case "json_object" -> new GrammarSpec(GrammarSpec.Kind.JSON_OBJECT, "", "response_format");
            case "json_schema" -> {
                JsonNode js = rf.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiException.badField("response_format.json_schema", js,
                            "must be an object with name and schema");
                }
                JsonNode schema = js.get("schema");
                if (schema == null || !(schema.isObject() || schema.isBoolean())) {
                    throw ApiException.badField("response_format.json_schema.schema", schema,
                            "must be a JSON Schema object");
                }
                yield new GrammarSpec(GrammarSpec.Kind.JSON_SCHEMA, schema.toString(),
                        "response_format.json_schema.schema");
            }
            default -> throw ApiException.badField("response_format.type", rf.get("type"),
                    "must be text, json_object or json_schema");
        };
    }

    private static Json requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("The request body must be a JSON object");
        }
        return new Json(body, "");
    }

    /** The model name to answer with: the request's, else {@code served}. */
    public String modelOr(String served) {
        return model != null ? model : served;
    }

}
