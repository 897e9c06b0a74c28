package dev.tandem.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * JSON Schema to {@link Rx}, emitting the compact JSON form (no whitespace between tokens; a valid document either
 * way, and a random model is not left wandering in whitespace). Supported: {@code type} (one or a list),
 * {@code properties} with {@code required} (properties in schema order, optional ones may be left out),
 * {@code additionalProperties} false/true (only declared properties are generated), {@code items} with
 * {@code minItems}/{@code maxItems}, {@code enum}, {@code const}, {@code anyOf}, {@code $ref} within the schema
 * ({@code #}, {@code #/$defs/..}, {@code #/definitions/..}; each a grammar rule, so a reference may be recursive:
 * a tree), and on strings {@code pattern}, {@code minLength}, {@code maxLength}. Any other constraining keyword is
 * refused by name. {@code json_object} (and an unconstrained value) is any JSON value, nested to any depth: a
 * recursive rule, so a {@link Pda}.
 * Numbers have at most {@link #MAX_DIGITS} digits before and after the point (and 3 in the exponent): every output
 * is still valid, and a model cannot run away in an endless number.
 */
final class JsonGrammar {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "$schema", "$id", "default",
            "examples", "$comment", "$defs", "definitions", "readOnly", "writeOnly", "deprecated", "strict");
    private static final Set<String> KNOWN = Set.of("type", "properties", "required", "additionalProperties", "items",
            "minItems", "maxItems", "enum", "const", "anyOf", "$ref", "pattern", "minLength", "maxLength");
    static final Rx STRING_CHAR = Rx.alt(
            new Rx.Chars(CharSets.complement(new int[] {0, 0x1F, '"', '"', '\\', '\\'})),
            Rx.seq(Rx.literal("\\"), new Rx.Chars(CharSets.normalize(List.of(new int[] {'"', '"'},
                    new int[] {'\\', '\\'}, new int[] {'/', '/'}, new int[] {'b', 'b'}, new int[] {'f', 'f'},
                    new int[] {'n', 'n'}, new int[] {'r', 'r'}, new int[] {'t', 't'})))),
            Rx.seq(Rx.literal("\\u"), new Rx.Repeat(new Rx.Chars(new int[] {'0', '9', 'A', 'F', 'a', 'f'}), 4, 4)));
    static final int MAX_DIGITS = 16;
    static final Rx INTEGER = Rx.seq(Rx.optional(Rx.literal("-")), Rx.alt(Rx.literal("0"),
            Rx.seq(new Rx.Chars(new int[] {'1', '9'}), new Rx.Repeat(new Rx.Chars(CharSets.DIGIT), 0, MAX_DIGITS - 1))));
    static final Rx NUMBER = Rx.seq(INTEGER,
            Rx.optional(Rx.seq(Rx.literal("."), new Rx.Repeat(new Rx.Chars(CharSets.DIGIT), 1, MAX_DIGITS))),
            Rx.optional(Rx.seq(new Rx.Chars(new int[] {'E', 'E', 'e', 'e'}),
                    Rx.optional(new Rx.Chars(new int[] {'+', '+', '-', '-'})),
                    new Rx.Repeat(new Rx.Chars(CharSets.DIGIT), 1, 3))));
    static final Rx STRING = Rx.seq(Rx.literal("\""), Rx.star(STRING_CHAR), Rx.literal("\""));

    private static final String ANY_VALUE = "<any JSON value>";
    private final JsonNode root;
    private final Rules rules = new Rules();

    private JsonGrammar(JsonNode root) {
        this.root = root;
        rules.declare("root");
    }

    /** The language of documents valid under {@code schema} (JSON text). */
    static Rules schema(String schema) {
        JsonNode node;
        try {
            node = JSON.readTree(schema);
        } catch (Exception e) {
            throw new GrammarException("json_schema is not valid JSON: " + e.getMessage().split("\n")[0]);
        }
        if (node == null || !(node.isObject() || node.isBoolean())) {
            throw new GrammarException("json_schema must be a JSON object");
        }
        JsonGrammar g = new JsonGrammar(node);
        g.rules.define(0, g.value(node, "#"));
        return g.rules;
    }

    /** {@code {"prefix", "schema", "suffix"}}: a document valid under the schema, between two fixed texts. */
    static Rules wrapped(String spec) {
        JsonNode n;
        try {
            n = JSON.readTree(spec);
        } catch (Exception e) {
            throw new GrammarException("tool call spec is not valid JSON");
        }
        JsonNode schema = n.get("schema");
        JsonGrammar g = new JsonGrammar(schema);
        g.rules.define(0, Rx.seq(Rx.literal(n.path("prefix").asText("")), g.value(schema, "#"),
                Rx.literal(n.path("suffix").asText(""))));
        return g.rules;
    }

    /** Any JSON object (OpenAI's {@code json_object}), nested to any depth. */
    static Rules anyObject() {
        JsonGrammar g = new JsonGrammar(null);
        g.rules.define(0, object(g.anyValue()));
        return g.rules;
    }

    /** A call of the rule "any JSON value" (objects and arrays of any values, to any depth). */
    private Rx anyValue() {
        boolean fresh = !rules.has(ANY_VALUE);
        int id = rules.declare(ANY_VALUE);
        if (fresh) {
            Rx inner = new Rx.Call(id);
            rules.define(id, Rx.alt(STRING, NUMBER, Rx.literal("true"), Rx.literal("false"), Rx.literal("null"),
                    object(inner), Rx.seq(Rx.literal("["),
                            Rx.optional(Rx.seq(inner, Rx.star(Rx.seq(Rx.literal(","), inner)))), Rx.literal("]"))));
        }
        return new Rx.Call(id);
    }

    private static Rx object(Rx value) {
        Rx member = Rx.seq(STRING, Rx.literal(":"), value);
        return Rx.seq(Rx.literal("{"), Rx.optional(Rx.seq(member, Rx.star(Rx.seq(Rx.literal(","), member)))),
                Rx.literal("}"));
    }

    private Rx value(JsonNode s, String path) {
        if (s.isBoolean()) {
            if (!s.asBoolean()) {
                throw new GrammarException("json_schema at " + path + ": the schema false admits nothing");
            }
            return anyValue();
        }
        if (!s.isObject()) {
            throw new GrammarException("json_schema at " + path + ": a schema must be an object");
        }
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KNOWN.contains(k) && !ANNOTATIONS.contains(k)) {
                throw new GrammarException("json_schema keyword '" + k + "' (at " + path + ") is not supported");
            }
        }
        if (s.has("$ref")) {
            return ref(s.get("$ref").asText(), path);
        }
        if (s.has("const")) {
            return Rx.literal(compact(s.get("const")));
        }
        if (s.has("enum")) {
            JsonNode e = s.get("enum");
            if (!e.isArray() || e.isEmpty()) {
                throw new GrammarException("json_schema at " + path + ": enum must be a non-empty list");
            }
            List<Rx> alts = new ArrayList<>();
            e.forEach(v -> alts.add(Rx.literal(compact(v))));
            return new Rx.Alt(alts);
        }
        if (s.has("anyOf")) {
            JsonNode a = s.get("anyOf");
            if (!a.isArray() || a.isEmpty()) {
                throw new GrammarException("json_schema at " + path + ": anyOf must be a non-empty list");
            }
            List<Rx> alts = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) {
                alts.add(value(a.get(i), path + "/anyOf/" + i));
            }
            return new Rx.Alt(alts);
        }
        JsonNode type = s.get("type");
        if (type == null) {
            if (s.has("properties")) {
                return typed("object", s, path);
            }
            if (s.has("items")) {
                return typed("array", s, path);
            }
            return anyValue();
        }
        if (type.isArray()) {
            List<Rx> alts = new ArrayList<>();
            type.forEach(t -> alts.add(typed(t.asText(), s, path)));
            return new Rx.Alt(alts);
        }
        return typed(type.asText(), s, path);
    }

    private Rx typed(String type, JsonNode s, String path) {
        return switch (type) {
            case "string" -> string(s, path);
            case "integer" -> INTEGER;
            case "number" -> NUMBER;
            case "boolean" -> Rx.alt(Rx.literal("true"), Rx.literal("false"));
            case "null" -> Rx.literal("null");
            case "object" -> object(s, path);
            case "array" -> array(s, path);
            default -> throw new GrammarException("json_schema at " + path + ": unknown type '" + type + "'");
        };
    }

    private Rx string(JsonNode s, String path) {
        if (s.has("pattern")) {
            if (s.has("minLength") || s.has("maxLength")) {
                throw new GrammarException("json_schema at " + path
                        + ": pattern together with minLength/maxLength is not supported");
            }
            // The pattern constrains the string's characters; as the output is JSON text, characters that JSON
            // escapes (quote, backslash, controls) are left out of what the pattern may produce.
            Rx p = RegexParser.parse(s.get("pattern").asText());
            return Rx.seq(Rx.literal("\""), withoutEscapes(p), Rx.literal("\""));
        }
        int min = nonNegative(s, "minLength", 0, path);
        int max = nonNegative(s, "maxLength", -1, path);
        if (max >= 0 && max < min) {
            throw new GrammarException("json_schema at " + path + ": maxLength < minLength");
        }
        return Rx.seq(Rx.literal("\""), new Rx.Repeat(STRING_CHAR, min, max), Rx.literal("\""));
    }

    private static Rx withoutEscapes(Rx r) {
        return switch (r) {
            case Rx.Chars c -> new Rx.Chars(intersect(c.ranges(),
                    CharSets.complement(new int[] {0, 0x1F, '"', '"', '\\', '\\'})));
            case Rx.Seq q -> new Rx.Seq(q.items().stream().map(JsonGrammar::withoutEscapes).toList());
            case Rx.Alt a -> new Rx.Alt(a.items().stream().map(JsonGrammar::withoutEscapes).toList());
            case Rx.Repeat p -> new Rx.Repeat(withoutEscapes(p.node()), p.min(), p.max());
            case Rx.Call c -> c; // a pattern is a regex: it has no rule calls
        };
    }

    private static int[] intersect(int[] a, int[] b) {
        return CharSets.complement(union(CharSets.complement(a), CharSets.complement(b)));
    }

    private static int[] union(int[] a, int[] b) {
        List<int[]> pairs = new ArrayList<>();
        CharSets.addAll(pairs, a);
        CharSets.addAll(pairs, b);
        return CharSets.normalize(pairs);
    }

    private Rx object(JsonNode s, String path) {
        JsonNode props = s.get("properties");
        JsonNode additional = s.get("additionalProperties");
        if (additional != null && !additional.isBoolean()) {
            throw new GrammarException("json_schema at " + path
                    + ": additionalProperties as a schema is not supported (use true or false)");
        }
        if (props == null || props.isEmpty()) {
            if (additional != null && !additional.asBoolean()) {
                return Rx.literal("{}");
            }
            return object(anyValue());
        }
        Set<String> required = new java.util.HashSet<>();
        JsonNode req = s.get("required");
        if (req != null) {
            req.forEach(r -> required.add(r.asText()));
            for (String r : required) {
                if (!props.has(r)) {
                    throw new GrammarException("json_schema at " + path + ": required property '" + r
                            + "' is not in properties");
                }
            }
        }
        List<Rx> members = new ArrayList<>();
        List<Boolean> must = new ArrayList<>();
        for (Iterator<String> it = props.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            members.add(Rx.seq(Rx.literal(compact(JSON.getNodeFactory().textNode(name)) + ":"),
                    value(props.get(name), path + "/properties/" + name)));
            must.add(required.contains(name));
        }
        // after[i]: members i.. when something was already written (each optional member is ",m" or nothing);
        // first[i]: members i.. when nothing was written yet. Linear and quadratic in the member count.
        int n = members.size();
        Rx[] after = new Rx[n + 1];
        Rx[] first = new Rx[n + 1];
        after[n] = Rx.EMPTY;
        first[n] = Rx.EMPTY;
        for (int i = n - 1; i >= 0; i--) {
            Rx withComma = Rx.seq(Rx.literal(","), members.get(i));
            after[i] = must.get(i) ? Rx.seq(withComma, after[i + 1]) : Rx.seq(Rx.optional(withComma), after[i + 1]);
            Rx take = Rx.seq(members.get(i), after[i + 1]);
            first[i] = must.get(i) ? take : Rx.alt(take, first[i + 1]);
        }
        return Rx.seq(Rx.literal("{"), first[0], Rx.literal("}"));
    }

    private Rx array(JsonNode s, String path) {
        JsonNode items = s.get("items");
        Rx item = items == null ? anyValue() : value(items, path + "/items");
        int min = nonNegative(s, "minItems", 0, path);
        int max = nonNegative(s, "maxItems", -1, path);
        if (max >= 0 && max < min) {
            throw new GrammarException("json_schema at " + path + ": maxItems < minItems");
        }
        if (max == 0) {
            return Rx.literal("[]");
        }
        Rx rest = new Rx.Repeat(Rx.seq(Rx.literal(","), item), Math.max(min - 1, 0), max < 0 ? -1 : max - 1);
        Rx body = Rx.seq(item, rest);
        return Rx.seq(Rx.literal("["), min == 0 ? Rx.optional(body) : body, Rx.literal("]"));
    }

    private Rx ref(String ref, String path) {
        if (!ref.equals("#") && !ref.startsWith("#/")) {
            throw new GrammarException("json_schema at " + path + ": $ref '" + ref
                    + "' is not supported (only references within the schema, #/...)");
        }
        if (rules.has(ref)) {
            return new Rx.Call(rules.declare(ref)); // seen before, or being built: a recursive reference
        }
        JsonNode target = root;
        if (ref.length() > 1) {
            for (String part : ref.substring(2).split("/")) {
                String key = part.replace("~1", "/").replace("~0", "~");
                target = target.isArray() && key.matches("\\d+") ? target.get(Integer.parseInt(key)) : target.get(key);
                if (target == null) {
                    throw new GrammarException("json_schema at " + path + ": $ref '" + ref + "' points nowhere");
                }
            }
        }
        int id = rules.declare(ref);
        rules.define(id, value(target, ref));
        return new Rx.Call(id);
    }

    private static int nonNegative(JsonNode s, String key, int dflt, String path) {
        JsonNode v = s.get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.canConvertToInt() || v.asInt() < 0) {
            throw new GrammarException("json_schema at " + path + ": " + key + " must be a non-negative integer");
        }
        if (v.asInt() > 1000) {
            throw new GrammarException("json_schema at " + path + ": " + key + " above 1000 is not supported");
        }
        return v.asInt();
    }

    static String compact(JsonNode v) {
        try {
            return JSON.writeValueAsString(v);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
