package dev.tandem;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The constraints the structured-output tests run: three JSON schemas (a nested object with an enum and an array, a
 * {@code $ref}, a {@code pattern} string), a regex and an EBNF grammar, and two recursive ones (an arithmetic GBNF
 * grammar and a tree through a recursive {@code $ref}: pushdown automata), each with an independent check of an output.
 */
public final class StructuredCases {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code field} is the sampling_params key; {@code valid} judges a finished output's text. */
    public record Case(String name, String field, String source, Predicate<String> valid) {
        /** The sampling_params value as JSON (a string, as SGLang takes it). */
        public String quoted() {
            return JSON.getNodeFactory().textNode(source).toString();
        }
    }

    public static final String NESTED = """
            {"type": "object", "properties": {
              "name": {"type": "string", "maxLength": 8},
              "pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog", "fish"]},
                                                     "age": {"type": "integer"}},
                      "required": ["kind", "age"], "additionalProperties": false},
              "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "minItems": 1, "maxItems": 3}},
             "required": ["name", "pet", "tags"], "additionalProperties": false}""";
    public static final String REF = """
            {"$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                                 "required": ["x", "y"], "additionalProperties": false}},
             "type": "object", "properties": {"from": {"$ref": "#/$defs/point"}, "to": {"$ref": "#/$defs/point"},
                                              "label": {"type": "string", "maxLength": 6}},
             "required": ["from", "to"], "additionalProperties": false}""";
    public static final String PATTERN = """
            {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2,4}$"},
                                              "ok": {"type": "boolean"}},
             "required": ["code", "ok"], "additionalProperties": false}""";
    public static final String REGEX = "(yes|no), [a-z]{2,6} [0-9]{1,3}!";
    public static final String EBNF = """
            root ::= greeting " " name ("," " " name){0,2} "."
            greeting ::= "hello" | "hi"
            name ::= [A-Z] [a-z]{1,6}
            """;

    /**
     * A recursive grammar (a pushdown automaton): arithmetic with parentheses nested to any depth. A parenthesis
     * opens with a number and an operator, so a random model that loves "(" cannot nest it 200 deep.
     */
    public static final String ARITHMETIC = """
            root   ::= expr
            expr   ::= term (("+" | "-") term){0,2}
            term   ::= factor ("*" factor)?
            factor ::= [0-9]{1,2} | "(" [0-9] ("+" | "-") expr ")"
            """;
    /** A recursive {@code $ref}: a tree of nodes, the root with one or two children. */
    public static final String TREE = """
            {"$defs": {"node": {"type": "object", "properties": {
                "v": {"enum": ["a", "b", "c"]},
                "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
              "required": ["v", "kids"], "additionalProperties": false}},
             "type": "object", "properties": {
                "v": {"enum": ["a", "b", "c"]},
                "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "minItems": 1, "maxItems": 2}},
             "required": ["v", "kids"], "additionalProperties": false}""";

    public static List<Case> all() {
        return List.of(schema("nested-enum-array", NESTED), schema("ref", REF), schema("pattern", PATTERN),
                new Case("regex", "regex", REGEX, t -> Pattern.matches(REGEX, t)),
                new Case("ebnf", "ebnf", EBNF,
                        t -> Pattern.matches("(hello|hi) [A-Z][a-z]{1,6}(, [A-Z][a-z]{1,6}){0,2}\\.", t)),
                new Case("recursive-ebnf", "ebnf", ARITHMETIC, t -> new Arithmetic(t).whole()),
                schema("recursive-ref", TREE));
    }

    /** An independent recursive-descent check of {@link #ARITHMETIC}. */
    private static final class Arithmetic {
        private final String t;
        private int i;

        Arithmetic(String t) {
            this.t = t;
        }

        boolean whole() {
            return expr() && i == t.length();
        }

        private boolean expr() {
            if (!term()) {
                return false;
            }
            for (int k = 0; k < 2 && i < t.length() && (t.charAt(i) == '+' || t.charAt(i) == '-'); k++) {
                i++;
                if (!term()) {
                    return false;
                }
            }
            return true;
        }

        private boolean term() {
            if (!factor()) {
                return false;
            }
            if (i < t.length() && t.charAt(i) == '*') {
                i++;
                return factor();
            }
            return true;
        }

        private boolean factor() {
            if (i < t.length() && t.charAt(i) == '(') {
                i++;
                if (i + 1 >= t.length() || !Character.isDigit(t.charAt(i)) || "+-".indexOf(t.charAt(i + 1)) < 0) {
                    return false;
                }
                i += 2;
                if (!expr() || i >= t.length() || t.charAt(i) != ')') {
                    return false;
                }
                i++;
                return true;
            }
            int d = 0;
            while (d < 2 && i < t.length() && Character.isDigit(t.charAt(i))) {
                i++;
                d++;
            }
            return d > 0;
        }
    }

    private static Case schema(String name, String schema) {
        return new Case(name, "json_schema", schema, t -> {
            try {
                JsonNode doc = JSON.readTree(t);
                List<String> bad = SchemaCheck.violations(JSON.readTree(schema), doc);
                if (!bad.isEmpty()) {
                    throw new AssertionError(name + ": " + t + " → " + bad);
                }
                return true;
            } catch (java.io.IOException e) {
                throw new AssertionError(name + ": not JSON: " + t, e);
            }
        });
    }

    private StructuredCases() {
    }
}
