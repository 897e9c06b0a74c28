package dev.tandem.grammar;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Recursive grammars and schemas: the pushdown automaton's language, its refusals, and its token masks. */
class PdaTest {
    static final String ARITHMETIC = """
            root   ::= expr
            expr   ::= term (("+" | "-") term)*
            term   ::= factor (("*" | "/") factor)*
            factor ::= [0-9]+ | "(" expr ")" | "-" factor
            """;
    static final String JSON = """
            root   ::= object
            value  ::= object | array | string | number | ("true" | "false" | "null")
            object ::= "{" ( string ":" value ("," string ":" value)* )? "}"
            array  ::= "[" ( value ("," value)* )? "]"
            string ::= "\\"" ( [^"\\\\\\x00-\\x1f] | "\\\\" ["\\\\/bfnrt] )* "\\""
            number ::= "-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)?
            """;
    static final String TREE = """
            {"$defs": {"node": {"type": "object", "properties": {
                "v": {"type": "integer"},
                "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 3}},
              "required": ["v"], "additionalProperties": false}},
             "$ref": "#/$defs/node"}""";

    private static Automaton ebnf(String s) {
        return new GrammarSpec(GrammarSpec.Kind.EBNF, s, "ebnf").compile();
    }

    private static boolean matches(Automaton a, String t) {
        return a.matches(t.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void nestedParenthesesNeedAStack() {
        Automaton a = ebnf("root ::= \"(\" root* \")\"");
        assertInstanceOf(Pda.class, a);
        for (String t : List.of("()", "(())", "(()())", "(" + "(".repeat(300) + ")".repeat(300) + ")")) {
            assertTrue(matches(a, t), t);
        }
        for (String t : List.of("", "(", ")(", "(()", "())", "(" + "(".repeat(300) + ")".repeat(299) + ")")) {
            assertFalse(matches(a, t), t);
        }
    }

    @Test
    void arithmeticAndJsonGrammars() {
        Automaton ar = ebnf(ARITHMETIC);
        for (String t : List.of("1", "1+2*(3-4)/5", "((7))", "-(-2)*10", "(1+(2*(3+(4))))")) {
            assertTrue(matches(ar, t), t);
        }
        for (String t : List.of("", "1+", "(1", "1)", "()", "1++2", "(1+2))")) {
            assertFalse(matches(ar, t), t);
        }
        Automaton js = ebnf(JSON);
        for (String t : List.of("{}", "{\"a\":[1,{\"b\":[[],{}]}],\"c\":\"x\\\"y\"}", "{\"k\":-0.5}")) {
            assertTrue(matches(js, t), t);
        }
        for (String t : List.of("[]", "{\"a\":[1,]}", "{\"a\":01}", "{\"a\":[}]", "{\"a\":\"\n\"}")) {
            assertFalse(matches(js, t), t);
        }
    }

    @Test
    void aRecursiveRefIsATree() {
        Automaton a = new GrammarSpec(GrammarSpec.Kind.JSON_SCHEMA, TREE, "json_schema").compile();
        assertInstanceOf(Pda.class, a);
        for (String t : List.of("{\"v\":1}", "{\"v\":1,\"kids\":[]}", "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3}]},"
                + "{\"v\":4}]}")) {
            assertTrue(matches(a, t), t);
        }
        for (String t : List.of("{}", "{\"kids\":[]}", "{\"v\":1,\"kids\":[{}]}", "{\"v\":1,\"kids\":[{\"v\":1},{\"v\":1},"
                + "{\"v\":1},{\"v\":1}]}", "{\"v\":1,\"x\":2}")) {
            assertFalse(matches(a, t), t);
        }
        // Without recursion, the same machinery inlines every rule into one DFA.
        assertInstanceOf(Dfa.class, ebnf("root ::= a a\na ::= \"x\" b\nb ::= [0-9]"));
    }

    @Test
    void leftRecursionAmbiguityAndDeadRulesAreRefusedClearly() {
        GrammarException left = assertThrows(GrammarException.class, () -> ebnf("root ::= root \"a\" | \"a\""));
        assertTrue(left.getMessage().contains("rule 'root' is left-recursive (root -> root"), left.getMessage());
        GrammarException indirect = assertThrows(GrammarException.class,
                () -> ebnf("root ::= x\nx ::= y? \"b\" | \"c\"\ny ::= x \"a\""));
        assertTrue(indirect.getMessage().contains("left-recursive"), indirect.getMessage());
        // One text, ever more parses: after n a's, any number 0..n of b's may be pending.
        GrammarException ambiguous = assertThrows(GrammarException.class,
                () -> ebnf("root ::= x\nx ::= \"a\" x | \"a\" x \"b\" | \"\""));
        assertTrue(ambiguous.getMessage().contains("too ambiguous: more than " + Pda.MAX_STACKS + " parse stacks"),
                ambiguous.getMessage());
        assertTrue(ambiguous.getMessage().contains("after the text 'aaaa"), ambiguous.getMessage());
        GrammarException never = assertThrows(GrammarException.class, () -> ebnf("root ::= \"(\" root \")\""));
        assertTrue(never.getMessage().contains("matches no output at all"), never.getMessage());
        // A rule that can never complete is trimmed; the rest of the grammar stays.
        Automaton trimmed = ebnf("root ::= \"a\" root | \"b\" | \"c\" dead\ndead ::= \"d\" dead");
        assertTrue(matches(trimmed, "aab"));
        assertFalse(matches(trimmed, "c"));
    }

    @Test
    void aMatcherPastTheBoundsStopsWithAReasonInsteadOfGrowing() {
        GrammarSpec spec = new GrammarSpec(GrammarSpec.Kind.EBNF, "root ::= \"(\" root \")\" | \"x\"", "ebnf");
        Vocabulary v = new Vocabulary(4, new byte[][] {"(".getBytes(), ")".getBytes(), "x".getBytes(), null},
                List.of(3));
        GrammarMatcher m = new TokenGrammar(spec, spec.compile(), v).matcher();
        int accepted = 0;
        while (m.accept(0)) {
            accepted++;
        }
        assertEquals(Pda.MAX_DEPTH - 1, accepted, "nesting stops at the depth bound");
        assertTrue(m.failure().contains("nests deeper than " + Pda.MAX_DEPTH), m.failure());
        assertFalse(m.mask(new float[4]), "nothing allowed after a failure: the scheduler ends the request");
        assertFalse(m.complete());
    }

    /** Token bytes that cut JSON at odd places: across rule ends, mid-escape, mid-character. */
    private static Vocabulary jsonVocabulary() {
        List<String> words = new ArrayList<>(List.of("{", "}", "[", "]", ",", ":", "\"", "\\", "0", "1", "9", "-", ".",
                "a", "b", " ", "t", "r", "u", "e", "f", "l", "s", "n", "{\"", "\":", "\"}", "\"]", "},", "],", "}]", "]}", "}}", "]]", ",\"", ":[", ":{", "\":[",
                "a\"", "a\":", "1}", "1]", "1,", "0.5", "-1", "true", "false", "null", "tr", "ue}", "\\\"", "\\n",
                "\\u", "é", "[{\"a\":1}]", "\"},{\"", "\"x\"", "]]]}", "{\"a\":{\"b\":["));
        byte[][] bytes = new byte[words.size() + 3][];
        for (int i = 0; i < words.size(); i++) {
            bytes[i] = words.get(i).getBytes(StandardCharsets.UTF_8);
        }
        bytes[words.size()] = new byte[] {(byte) 0xC3};   // é's lead byte alone
        bytes[words.size() + 1] = new byte[] {(byte) 0xA9}; // and its continuation
        return new Vocabulary(bytes.length, bytes, List.of(words.size() + 2));
    }

    @Test
    void tokenMasksEqualTryingEveryTokenAndNeverDeadEnd() {
        Vocabulary v = jsonVocabulary();
        int eos = v.size() - 1;
        for (String source : List.of(JSON, ARITHMETIC)) {
            GrammarSpec spec = new GrammarSpec(GrammarSpec.Kind.EBNF, source, "ebnf");
            Pda pda = (Pda) spec.compile();
            TokenGrammar g = new TokenGrammar(spec, pda, v);
            for (int seed = 0; seed < 40; seed++) {
                SplittableRandom rnd = new SplittableRandom(seed);
                GrammarMatcher m = g.matcher();
                Pda.Stacks at = pda.start();
                StringBuilder text = new StringBuilder();
                for (int step = 0; step < 60 && !m.terminated(); step++) {
                    List<Integer> expected = new ArrayList<>();
                    for (int id = 0; id < v.size(); id++) {
                        boolean ok = id == eos ? at.complete() : !pda.advance(at, v.bytes(id)).dead();
                        if (ok) {
                            expected.add(id);
                        }
                    }
                    List<Integer> got = allowed(m, v.size());
                    assertEquals(expected, got, "seed " + seed + " after '" + text + "'");
                    assertFalse(got.isEmpty(), "a dead end after '" + text + "'");
                    // Prefer closing once long, so walks also end.
                    int pick = got.get(rnd.nextInt(got.size()));
                    if (step > 40 && got.contains(eos)) {
                        pick = eos;
                    }
                    assertTrue(m.accept(pick));
                    if (pick != eos) {
                        at = pda.advance(at, v.bytes(pick));
                        text.append(new String(v.bytes(pick), StandardCharsets.ISO_8859_1));
                    }
                }
                if (m.terminated()) {
                    assertTrue(pda.matches(text.toString().getBytes(StandardCharsets.ISO_8859_1)), text.toString());
                }
            }
            assertTrue(g.maskedStates() > 0, "top-frame masks are cached");
        }
    }

    private static List<Integer> allowed(GrammarMatcher m, int n) {
        float[] l = new float[n];
        m.mask(l);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (l[i] != Float.NEGATIVE_INFINITY) {
                out.add(i);
            }
        }
        return out;
    }
}
