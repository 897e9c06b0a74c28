package dev.tandem.grammar;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Regex, JSON Schema and EBNF constraints: exact accept/reject cases on their byte automata. */
class GrammarTest {

    private static Automaton regex(String r) {
        return new GrammarSpec(GrammarSpec.Kind.REGEX, r, "regex").compile();
    }

    private static Automaton schema(String s) {
        return new GrammarSpec(GrammarSpec.Kind.JSON_SCHEMA, s, "json_schema").compile();
    }

    private static Automaton ebnf(String s) {
        return new GrammarSpec(GrammarSpec.Kind.EBNF, s, "ebnf").compile();
    }

    private static void accepts(Automaton d, String... texts) {
        for (String t : texts) {
            assertTrue(d.matches(t.getBytes(StandardCharsets.UTF_8)), "should accept: " + t);
        }
    }

    private static void rejects(Automaton d, String... texts) {
        for (String t : texts) {
            assertFalse(d.matches(t.getBytes(StandardCharsets.UTF_8)), "should reject: " + t);
        }
    }

    @Test
    void regexMatchesWholeOutputs() {
        Automaton d = regex("(cat|dog)s? [0-9]{2,3}");
        accepts(d, "cat 12", "dogs 123", "dog 00");
        rejects(d, "cat 1", "cat 1234", "cats12", "bird 12", "cat 12 ", "");
        accepts(regex("^\\d+(\\.\\d+)?$"), "3", "3.14");
        rejects(regex("^\\d+(\\.\\d+)?$"), "3.", ".5", "a");
        Automaton cls = regex("[^a-c\\d]+");
        accepts(cls, "xyz", "é", "日本", "\uD83D\uDE00");
        rejects(cls, "xa", "1", "");
        accepts(regex("a{2,}"), "aa", "aaaaa");
        rejects(regex("a{2,}"), "a");
        accepts(regex("x{3}"), "xxx");
        rejects(regex("x{3}"), "xx", "xxxx");
        accepts(regex("a{,}"), "a{,}"); // not a counter: literal braces, as in Python
        accepts(regex("\\w+@\\w+\\.com"), "joe_1@ex.com");
        rejects(regex("\\w+@\\w+\\.com"), "joe@ex.org");
    }

    @Test
    void dotAndNegatedClassesMatchWholeUtf8CharactersOnly() {
        Automaton d = regex(".");
        accepts(d, "a", "é", "€", "\uD83D\uDE00");
        rejects(d, "\n", "ab");
        // A lone continuation byte or a truncated sequence is not a character.
        assertFalse(d.matches(new byte[] {(byte) 0x80}));
        assertFalse(d.matches(new byte[] {(byte) 0xE2, (byte) 0x82}));
        assertFalse(d.matches(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})); // a surrogate
        assertTrue(((Dfa) d).walk(0, new byte[] {(byte) 0xE2, (byte) 0x82}) >= 0, "a prefix of a character is alive");
        Automaton range = regex("[é-ü]");
        accepts(range, "é", "ü", "ñ");
        rejects(range, "e", "ý", "\u00E8");
    }

    @Test
    void regexFeaturesWithoutAnAutomatonAreRefusedByName() {
        assertTrue(assertThrows(GrammarException.class, () -> regex("(a)\\1")).getMessage().contains("backreference"));
        assertTrue(assertThrows(GrammarException.class, () -> regex("a(?=b)")).getMessage().contains("lookaround"));
        assertTrue(assertThrows(GrammarException.class, () -> regex("\\bword")).getMessage().contains("\\b"));
        assertTrue(assertThrows(GrammarException.class, () -> regex("(ab")).getMessage().contains("missing ')'"));
        assertTrue(assertThrows(GrammarException.class, () -> regex("a{5,2}")).getMessage().contains("max < min"));
        assertTrue(assertThrows(GrammarException.class, () -> regex("[a")).getMessage().contains("missing ']'"));
    }

    @Test
    void objectsWithRequiredAndOptionalPropertiesEnumsAndArrays() {
        Automaton d = schema("""
                {"type": "object", "properties": {
                  "name": {"type": "string", "maxLength": 4},
                  "kind": {"enum": ["cat", "dog", 3, null]},
                  "tags": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
                  "ok": {"type": "boolean"}},
                 "required": ["name", "tags"]}""");
        accepts(d, "{\"name\":\"ab\",\"tags\":[1]}",
                "{\"name\":\"\",\"kind\":\"cat\",\"tags\":[-12,0],\"ok\":true}",
                "{\"name\":\"a\\\"b\",\"kind\":null,\"tags\":[7]}",
                "{\"name\":\"abcd\",\"kind\":3,\"tags\":[7],\"ok\":false}");
        rejects(d, "{\"tags\":[1]}", "{\"name\":\"ab\"}", "{\"name\":\"abcde\",\"tags\":[1]}",
                "{\"name\":\"ab\",\"tags\":[]}", "{\"name\":\"ab\",\"tags\":[1,2,3]}",
                "{\"name\":\"ab\",\"tags\":[01]}", "{\"name\":\"ab\",\"kind\":\"cow\",\"tags\":[1]}",
                "{\"name\":\"ab\",\"tags\":[1],}", "{\"tags\":[1],\"name\":\"ab\"}", "{\"name\":\"a\nb\",\"tags\":[1]}");
    }

    @Test
    void onlyOptionalPropertiesPlaceTheirCommasRight() {
        Automaton d = schema("""
                {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}}}""");
        accepts(d, "{}", "{\"a\":1}", "{\"b\":1}", "{\"c\":1}", "{\"a\":1,\"c\":2}", "{\"b\":1,\"c\":2}",
                "{\"a\":1,\"b\":2,\"c\":3}");
        rejects(d, "{,\"b\":1}", "{\"a\":1,}", "{\"a\":1\"b\":2}", "{\"c\":1,\"a\":2}");
    }

    @Test
    void refsAnyOfConstNumbersAndPatterns() {
        Automaton d = schema("""
                {"$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                                     "required": ["x", "y"], "additionalProperties": false}},
                 "type": "object",
                 "properties": {"from": {"$ref": "#/$defs/point"}, "to": {"$ref": "#/$defs/point"},
                                "id": {"type": "string", "pattern": "^[A-Z]{2}-\\\\d{3}$"},
                                "v": {"anyOf": [{"type": "null"}, {"const": "fixed"}]}},
                 "required": ["from", "to", "id", "v"]}""");
        accepts(d, "{\"from\":{\"x\":1,\"y\":-2.5},\"to\":{\"x\":0.0,\"y\":1e10},\"id\":\"AB-123\",\"v\":null}",
                "{\"from\":{\"x\":1E-3,\"y\":2},\"to\":{\"x\":3,\"y\":4},\"id\":\"ZZ-000\",\"v\":\"fixed\"}");
        rejects(d, "{\"from\":{\"x\":1},\"to\":{\"x\":0,\"y\":1},\"id\":\"AB-123\",\"v\":null}",
                "{\"from\":{\"x\":1,\"y\":2},\"to\":{\"x\":3,\"y\":4},\"id\":\"ab-123\",\"v\":null}",
                "{\"from\":{\"x\":1.,\"y\":2},\"to\":{\"x\":3,\"y\":4},\"id\":\"AB-123\",\"v\":null}",
                "{\"from\":{\"x\":1,\"y\":2},\"to\":{\"x\":3,\"y\":4},\"id\":\"AB-123\",\"v\":\"other\"}");
    }

    @Test
    void unsupportedSchemaKeywordsAreNamed() {
        for (String[] c : new String[][] {
                {"{\"type\":\"integer\",\"minimum\":3}", "'minimum'"},
                {"{\"type\":\"string\",\"format\":\"email\"}", "'format'"},
                {"{\"oneOf\":[{\"type\":\"string\"}]}", "'oneOf'"},
                {"{\"$ref\":\"http://x/y.json\"}", "only references within the schema"},
                {"{\"type\":\"object\",\"properties\":{\"a\":{}},\"required\":[\"b\"]}", "'b'"},
                {"not json", "not valid JSON"}}) {
            GrammarException e = assertThrows(GrammarException.class, () -> schema(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
    }

    @Test
    void jsonObjectIsAnyObjectNestedToAnyDepth() {
        Automaton d = new GrammarSpec(GrammarSpec.Kind.JSON_OBJECT, "", "response_format").compile();
        assertTrue(d instanceof Pda, "any depth needs a pushdown automaton");
        accepts(d, "{}", "{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\"}", "{\"k\":{\"k\":{\"k\":1}}}",
                "{\"k\":{\"k\":{\"k\":{\"k\":1}}}}", "{\"a\":" + "[".repeat(200) + "]".repeat(200) + "}");
        rejects(d, "[]", "1", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"k\":{\"k\":{\"k\":{\"k\":1}}}",
                "{\"a\":" + "[".repeat(200) + "]".repeat(199) + "}");
    }

    @Test
    void ebnfRulesExpandIntoOneLanguage() {
        Automaton d = ebnf("""
                # a tiny command language
                root ::= cmd (" " arg){0,2} "\\n"?
                cmd  ::= "go" | "stop" | [a-c]+
                arg  ::= num | "\\"" [^"]* "\\""
                num  ::= "-"? [0-9]+
                """);
        accepts(d, "go", "stop 1 -2", "abc \"x y\"", "go 3\n", "cab");
        rejects(d, "run", "go 1 2 3", "go  1", "go \"x", "stop\n\n");
        assertTrue(assertThrows(GrammarException.class, () -> ebnf("root ::= thing")).getMessage()
                .contains("undefined rule 'thing'"));
        assertTrue(assertThrows(GrammarException.class, () -> ebnf("start ::= \"a\"")).getMessage()
                .contains("no 'root' rule"));
    }

    @Test
    void tokenMasksJudgeTokensThatEndInsideACharacter() {
        byte[] e = "é".getBytes(StandardCharsets.UTF_8); // C3 A9
        byte[][] bytes = {
                "{".getBytes(), "}".getBytes(), "\"".getBytes(), "a".getBytes(), "ab".getBytes(),
                new byte[] {e[0]},                      // 5: the lead byte alone (byte-level BPE has these)
                new byte[] {e[1]},                      // 6: the continuation byte alone
                new byte[] {'a', e[0]},                 // 7: ends mid-character
                null,                                   // 8: a special token
                "\"}".getBytes(),                       // 9
        };
        Vocabulary v = new Vocabulary(11, bytes, List.of(10));
        TokenGrammar g = new TokenGrammar(new GrammarSpec(GrammarSpec.Kind.REGEX, "\"[aé]{1,2}\"", "regex"),
                regex("\"[aé]{1,2}\""), v);
        GrammarMatcher m = g.matcher();
        assertEquals(List.of(2), allowed(m, 11), "only the opening quote; the special token never");
        assertTrue(m.accept(2));
        assertEquals(List.of(3, 5, 7), allowed(m, 11), "'ab' is not in [aé]; a lead byte and 'a'+lead are");
        assertTrue(m.accept(7));                                       // "a" + first byte of é
        assertEquals(List.of(6), allowed(m, 11), "only the continuation byte completes the character");
        assertFalse(m.accept(3));
        assertTrue(m.accept(6));
        assertEquals(List.of(2), allowed(m, 11), "two characters: only the closing quote ('\"}' is not in it)");
        assertFalse(m.accept(9));
        assertTrue(m.accept(2));
        assertEquals(List.of(10), allowed(m, 11), "complete: only EOS");
        assertTrue(m.complete());
        assertTrue(m.accept(10));
        assertTrue(m.terminated());
        float[] logits = new float[11];
        assertFalse(m.mask(logits), "nothing after EOS");
    }

    private static List<Integer> allowed(GrammarMatcher m, int n) {
        float[] l = new float[n + 3];
        m.mask(l);
        List<Integer> out = new java.util.ArrayList<>();
        for (int i = 0; i < l.length; i++) {
            if (l[i] != Float.NEGATIVE_INFINITY) {
                out.add(i);
            }
        }
        return out;
    }

    @Test
    void theCacheSharesCompiledGrammarsAndDropsTheLeastRecentlyUsed() {
        Vocabulary v = new Vocabulary(3, new byte[][] {"a".getBytes(), "b".getBytes(), null}, List.of(2));
        GrammarCache cache = new GrammarCache(v, 2);
        GrammarSpec a = new GrammarSpec(GrammarSpec.Kind.REGEX, "a+", "regex");
        TokenGrammar first = cache.get(a);
        assertTrue(first == cache.get(new GrammarSpec(GrammarSpec.Kind.REGEX, "a+", "sampling_params.regex")));
        cache.get(new GrammarSpec(GrammarSpec.Kind.REGEX, "b+", "regex"));
        cache.get(new GrammarSpec(GrammarSpec.Kind.REGEX, "ab", "regex"));
        assertEquals(2, cache.size());
        assertFalse(first == cache.get(a), "evicted, compiled again");
        assertEquals(1, cache.hits());
        assertEquals(4, cache.misses());
    }
}
