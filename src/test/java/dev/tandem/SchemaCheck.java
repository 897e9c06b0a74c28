package dev.tandem;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * An independent JSON Schema check for tests (the subset the structured-output tests use: type, properties,
 * required, additionalProperties false, enum, const, anyOf, $ref, items, min/maxItems, min/maxLength, pattern),
 * written against the schema text with java.util.regex, not with the grammar package under test.
 */
public final class SchemaCheck {
    private SchemaCheck() {
    }

    /** The violations of {@code doc} against {@code schema}; empty when valid. */
    public static List<String> violations(JsonNode schema, JsonNode doc) {
        List<String> out = new ArrayList<>();
        check(schema, schema, doc, "$", out);
        return out;
    }

    private static void check(JsonNode root, JsonNode s, JsonNode v, String at, List<String> out) {
        if (s.has("$ref")) {
            JsonNode t = root;
            String ref = s.get("$ref").asText();
            for (String p : ref.substring(1).split("/")) {
                if (!p.isEmpty()) {
                    t = t.get(p);
                }
            }
            check(root, t, v, at, out);
            return;
        }
        if (s.has("const") && !s.get("const").equals(v)) {
            out.add(at + ": not the const " + s.get("const"));
        }
        if (s.has("enum")) {
            boolean any = false;
            for (JsonNode e : s.get("enum")) {
                any |= e.equals(v);
            }
            if (!any) {
                out.add(at + ": " + v + " not in enum " + s.get("enum"));
            }
        }
        if (s.has("anyOf")) {
            boolean any = false;
            for (JsonNode alt : s.get("anyOf")) {
                List<String> sub = new ArrayList<>();
                check(root, alt, v, at, sub);
                any |= sub.isEmpty();
            }
            if (!any) {
                out.add(at + ": matches no anyOf branch");
            }
        }
        String type = s.path("type").asText(null);
        if (type == null) {
            return;
        }
        boolean ok = switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "integer" -> v.isIntegralNumber();
            case "number" -> v.isNumber();
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            default -> false;
        };
        if (!ok) {
            out.add(at + ": " + v + " is not of type " + type);
            return;
        }
        if (v.isObject()) {
            JsonNode props = s.path("properties");
            for (JsonNode r : s.path("required")) {
                if (!v.has(r.asText())) {
                    out.add(at + ": missing required " + r.asText());
                }
            }
            for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (props.has(k)) {
                    check(root, props.get(k), v.get(k), at + "." + k, out);
                } else if (s.has("additionalProperties") && !s.get("additionalProperties").asBoolean()) {
                    out.add(at + ": unexpected property " + k);
                }
            }
        }
        if (v.isArray()) {
            if (s.has("minItems") && v.size() < s.get("minItems").asInt()) {
                out.add(at + ": fewer than minItems");
            }
            if (s.has("maxItems") && v.size() > s.get("maxItems").asInt()) {
                out.add(at + ": more than maxItems");
            }
            for (int i = 0; i < v.size() && s.has("items"); i++) {
                check(root, s.get("items"), v.get(i), at + "[" + i + "]", out);
            }
        }
        if (v.isTextual()) {
            int len = v.asText().codePointCount(0, v.asText().length());
            if (s.has("maxLength") && len > s.get("maxLength").asInt()) {
                out.add(at + ": longer than maxLength");
            }
            if (s.has("minLength") && len < s.get("minLength").asInt()) {
                out.add(at + ": shorter than minLength");
            }
            if (s.has("pattern") && !Pattern.compile(s.get("pattern").asText()).matcher(v.asText()).find()) {
                out.add(at + ": " + v + " does not match " + s.get("pattern"));
            }
        }
    }
}
