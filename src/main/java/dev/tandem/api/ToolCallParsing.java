package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.config.ToolCallParser;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A finished chat output split into text and OpenAI {@code tool_calls}, by the model family's format (SGLang's
 * {@code llama3} and {@code qwen25} detectors). A block that does not parse as a call of a known function stays
 * text: nothing the model wrote is dropped.
 */
public final class ToolCallParsing {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern QWEN = Pattern.compile("<tool_call>\\s*(.*?)\\s*</tool_call>", Pattern.DOTALL);
    private static final String PYTHON_TAG = "<|python_tag|>";

    private ToolCallParsing() {
    }

    /** One call: the function and its arguments as JSON text (what OpenAI's {@code function.arguments} holds). */
    public record Call(String name, String arguments) {
    }

    /** The text outside calls (may be empty) and the calls, in order. */
    public record Result(String content, List<Call> calls) {
    }

    public static Result parse(ToolCallParser parser, String text, Set<String> functions) {
        return parser == ToolCallParser.QWEN25 ? qwen(text, functions) : llama3(text, functions);
    }

    private static Result qwen(String text, Set<String> functions) {
        List<Call> calls = new ArrayList<>();
        StringBuilder content = new StringBuilder();
        Matcher m = QWEN.matcher(text);
        int at = 0;
        while (m.find()) {
            Call c = call(m.group(1), "arguments", functions);
            content.append(text, at, c == null ? m.end() : m.start());
            if (c != null) {
                calls.add(c);
            }
            at = m.end();
        }
        content.append(text.substring(at));
        return new Result(calls.isEmpty() ? text : content.toString().strip(), calls);
    }

    private static Result llama3(String text, Set<String> functions) {
        String body = text.strip();
        if (body.startsWith(PYTHON_TAG)) {
            body = body.substring(PYTHON_TAG.length()).strip();
        }
        if (!body.startsWith("{")) {
            return new Result(text, List.of());
        }
        List<Call> calls = new ArrayList<>();
        for (String part : body.split(";")) {
            Call c = call(part.strip(), "parameters", functions);
            if (c == null) {
                return new Result(text, List.of()); // all or nothing: a half-parsed answer stays text
            }
            calls.add(c);
        }
        return new Result("", calls);
    }

    /** A call from {@code json} ({@code name} plus {@code argsKey}, or the other key of the two), else null. */
    private static Call call(String json, String argsKey, Set<String> functions) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (Exception e) {
            return null;
        }
        if (n == null || !n.isObject() || !functions.contains(n.path("name").asText(""))) {
            return null;
        }
        JsonNode args = n.has(argsKey) ? n.get(argsKey) : n.get(argsKey.equals("arguments") ? "parameters"
                : "arguments");
        if (args == null || !args.isObject()) {
            return null;
        }
        return new Call(n.get("name").asText(), args.toString());
    }
}
