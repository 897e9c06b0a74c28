package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.config.ToolCallParser;
import dev.tandem.grammar.GrammarSpec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A chat request's {@code tools} and {@code tool_choice}, as OpenAI documents them: {@code none} (the model is not
 * told about the tools and calls none), {@code auto} (it may call them; its output is parsed), {@code required} (it
 * must call one: the output is constrained to a call of one of them, arguments matching that function's
 * {@code parameters} schema) or a named function (constrained to a call of that one).
 */
public record ChatTools(List<Tool> tools, Choice choice, String named) {
    public enum Choice {
        NONE, AUTO, REQUIRED, NAMED
    }

    /** One function: its name, description (may be null) and parameters schema (an object schema). */
    public record Tool(String name, String description, JsonNode parameters) {
    }

    /** The request's tools, or null when it has none (a {@code tool_choice} without tools is a 400). */
    static ChatTools parse(JsonNode body) {
        JsonNode t = body.get("tools");
        JsonNode c = body.get("tool_choice");
        if (t == null || t.isNull() || (t.isArray() && t.isEmpty())) {
            if (c != null && !c.isNull() && !(c.isTextual() && c.asText().equals("none"))) {
                throw ApiException.badField("tool_choice", c, "needs tools");
            }
            return null;
        }
        if (!t.isArray()) {
            throw ApiException.badField("tools", t, "must be a list of {type: function, function: {...}}");
        }
        List<Tool> tools = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < t.size(); i++) {
            JsonNode e = t.get(i);
            String where = "tools[" + i + "]";
            if (!"function".equals(e.path("type").asText()) || !e.path("function").isObject()) {
                throw ApiException.badField(where, e, "must be {type: function, function: {name, parameters}}");
            }
            JsonNode f = e.get("function");
            String name = f.path("name").asText("");
            if (!name.matches("[A-Za-z0-9_.-]{1,64}")) {
                throw ApiException.badField(where + ".function.name", f.get("name"),
                        "must be 1 to 64 letters, digits, _ . or -");
            }
            if (!names.add(name)) {
                throw ApiException.badField(where + ".function.name", name, "is given twice");
            }
            JsonNode params = f.get("parameters");
            if (params != null && !params.isNull() && !params.isObject()) {
                throw ApiException.badField(where + ".function.parameters", params, "must be a JSON Schema object");
            }
            tools.add(new Tool(name, f.path("description").asText(null),
                    params == null || params.isNull() ? JsonNodeFactory.instance.objectNode().put("type", "object")
                            : params));
        }
        Choice choice = Choice.AUTO;
        String named = null;
        if (c != null && !c.isNull()) {
            if (c.isTextual()) {
                choice = switch (c.asText()) {
                    case "none" -> Choice.NONE;
                    case "auto" -> Choice.AUTO;
                    case "required" -> Choice.REQUIRED;
                    default -> throw ApiException.badField("tool_choice", c, "must be none, auto, required or "
                            + "{type: function, function: {name}}");
                };
            } else if (c.isObject() && "function".equals(c.path("type").asText())) {
                named = c.path("function").path("name").asText("");
                if (!names.contains(named)) {
                    throw ApiException.badField("tool_choice.function.name", named, "is not one of the tools");
                }
                choice = Choice.NAMED;
            } else {
                throw ApiException.badField("tool_choice", c, "must be none, auto, required or "
                        + "{type: function, function: {name}}");
            }
        }
        return new ChatTools(List.copyOf(tools), choice, named);
    }

    /** Whether the model is told about the tools and its output is parsed for calls. */
    public boolean active() {
        return choice != Choice.NONE;
    }

    /** The tools as the chat template sees them: OpenAI's {@code [{type, function: {name, description, parameters}}]}. */
    public List<Object> forTemplate() {
        List<Object> out = new ArrayList<>();
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        for (Tool t : tools) {
            ObjectNode o = JsonNodeFactory.instance.objectNode().put("type", "function");
            ObjectNode f = o.putObject("function").put("name", t.name());
            if (t.description() != null) {
                f.put("description", t.description());
            }
            f.set("parameters", t.parameters());
            out.add(mapper.convertValue(o, java.util.Map.class));
        }
        return out;
    }

    /**
     * For {@code required} and a named function: the output must be one call, in {@code parser}'s format, of one of
     * the allowed functions with arguments valid under its parameters schema. Null for {@code none} and {@code auto}.
     */
    public GrammarSpec constraint(ToolCallParser parser) {
        if (choice != Choice.REQUIRED && choice != Choice.NAMED) {
            return null;
        }
        String argsKey = parser == ToolCallParser.LLAMA3 ? "parameters" : "arguments";
        ObjectNode schema = JsonNodeFactory.instance.objectNode();
        var any = schema.putArray("anyOf");
        for (Tool t : tools) {
            if (choice == Choice.NAMED && !t.name().equals(named)) {
                continue;
            }
            ObjectNode call = any.addObject().put("type", "object");
            call.putObject("properties").<ObjectNode>set("name",
                    JsonNodeFactory.instance.objectNode().put("const", t.name())).set(argsKey, t.parameters());
            call.putArray("required").add("name").add(argsKey);
        }
        ObjectNode wrapped = JsonNodeFactory.instance.objectNode();
        wrapped.put("prefix", parser == ToolCallParser.QWEN25 ? "<tool_call>\n" : "");
        wrapped.put("suffix", parser == ToolCallParser.QWEN25 ? "\n</tool_call>" : "");
        wrapped.set("schema", schema);
        return new GrammarSpec(GrammarSpec.Kind.TOOL_CALL, wrapped.toString(), "tools");
    }
}
