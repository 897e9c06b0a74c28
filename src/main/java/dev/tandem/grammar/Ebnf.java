package dev.tandem.grammar;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SGLang's {@code ebnf} constraint in the GBNF dialect (llama.cpp, xgrammar): rules {@code name ::= body}, the start
 * rule {@code root}; in a body, string literals {@code "..."} (escapes {@code \n \t \r \\ \" \xHH}, and
 * backslash-u with 4 hex digits), character classes {@code [...]} and {@code [^...]}, {@code .}, rule
 * references, groups, alternation {@code |} and the postfix operators {@code * + ? {m} {m,} {m,n}}; {@code #} starts
 * a comment. A grammar without recursion is one regular language (a {@link Dfa}); rules that refer to themselves,
 * directly or not, make it a {@link Pda} (see {@link Rules}); left recursion is refused by name.
 */
final class Ebnf {
    private final String src;
    private final Map<String, int[]> bodies = new LinkedHashMap<>(); // rule → [from, to) of its body
    private final Rules rules = new Rules();
    private int pos;
    private int end;

    private Ebnf(String src) {
        this.src = src;
    }

    static Rules parse(String grammar) {
        Ebnf e = new Ebnf(grammar);
        e.findRules();
        if (!e.bodies.containsKey("root")) {
            throw new GrammarException("ebnf: no 'root' rule");
        }
        e.rules.declare("root");
        for (String name : e.bodies.keySet()) {
            e.rules.declare(name);
        }
        for (String name : e.bodies.keySet()) {
            e.rules.define(e.rules.declare(name), e.body(name));
        }
        return e.rules;
    }

    private GrammarException error(String what) {
        int line = 1;
        for (int i = 0; i < Math.min(pos, src.length()); i++) {
            line += src.charAt(i) == '\n' ? 1 : 0;
        }
        return new GrammarException("ebnf line " + line + ": " + what);
    }

    /** Finds every {@code name ::=} outside literals, classes and comments; a body runs to the next rule. */
    private void findRules() {
        List<String> names = new ArrayList<>();
        List<int[]> spans = new ArrayList<>();
        int i = 0;
        int n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            if (c == '#') {
                while (i < n && src.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '"' || c == '[') {
                char close = c == '"' ? '"' : ']';
                i++;
                while (i < n && src.charAt(i) != close) {
                    i += src.charAt(i) == '\\' ? 2 : 1;
                }
                i++;
            } else if (isNameChar(c) && (i == 0 || !isNameChar(src.charAt(i - 1)))) {
                int s = i;
                while (i < n && isNameChar(src.charAt(i))) {
                    i++;
                }
                int j = i;
                while (j < n && (src.charAt(j) == ' ' || src.charAt(j) == '\t')) {
                    j++;
                }
                if (src.startsWith("::=", j)) {
                    if (!spans.isEmpty()) {
                        spans.getLast()[1] = s;
                    }
                    names.add(src.substring(s, i));
                    spans.add(new int[] {j + 3, n});
                    i = j + 3;
                }
            } else {
                i++;
            }
        }
        for (int k = 0; k < names.size(); k++) {
            if (bodies.put(names.get(k), spans.get(k)) != null) {
                throw new GrammarException("ebnf: rule '" + names.get(k) + "' is defined twice");
            }
        }
        if (names.isEmpty()) {
            throw new GrammarException("ebnf: no rules (expected 'root ::= ...')");
        }
    }

    private static boolean isNameChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '-';
    }

    private Rx body(String name) {
        int[] span = bodies.get(name);
        pos = span[0];
        end = span[1];
        Rx r = alternation();
        skip();
        if (pos < end) {
            throw error("unexpected '" + src.charAt(pos) + "' in rule '" + name + "'");
        }
        return r;
    }

    private Rx call(String name) {
        if (!bodies.containsKey(name)) {
            throw error("undefined rule '" + name + "'");
        }
        return new Rx.Call(rules.declare(name));
    }

    private void skip() {
        while (pos < end) {
            char c = src.charAt(pos);
            if (c == '#') {
                while (pos < end && src.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (Character.isWhitespace(c)) {
                pos++;
            } else {
                return;
            }
        }
    }

    private Rx alternation() {
        List<Rx> alts = new ArrayList<>();
        alts.add(sequence());
        skip();
        while (pos < end && src.charAt(pos) == '|') {
            pos++;
            alts.add(sequence());
            skip();
        }
        return alts.size() == 1 ? alts.getFirst() : new Rx.Alt(alts);
    }

    private Rx sequence() {
        List<Rx> items = new ArrayList<>();
        while (true) {
            skip();
            if (pos >= end || src.charAt(pos) == '|' || src.charAt(pos) == ')') {
                break;
            }
            items.add(postfix(primary()));
        }
        return items.size() == 1 ? items.getFirst() : new Rx.Seq(items);
    }

    private Rx primary() {
        char c = src.charAt(pos);
        if (c == '"') {
            pos++;
            List<Rx> chars = new ArrayList<>();
            while (pos < end && src.charAt(pos) != '"') {
                int cp = charOrEscape();
                chars.add(new Rx.Chars(new int[] {cp, cp}));
            }
            if (pos >= end) {
                throw error("unterminated string literal");
            }
            pos++;
            return new Rx.Seq(chars);
        }
        if (c == '[') {
            int start = pos;
            pos++;
            while (pos < end && src.charAt(pos) != ']') {
                pos += src.charAt(pos) == '\\' ? 2 : 1;
            }
            if (pos >= end) {
                throw error("unterminated character class");
            }
            pos++;
            // GBNF classes are regex classes (the same escapes); the regex parser reads them.
            return RegexParser.parse(src.substring(start, pos));
        }
        if (c == '.') {
            pos++;
            return new Rx.Chars(new int[] {0, Utf8Ranges.MAX});
        }
        if (c == '(') {
            pos++;
            Rx inner = alternation();
            skip();
            if (pos >= end || src.charAt(pos) != ')') {
                throw error("missing ')'");
            }
            pos++;
            return inner;
        }
        if (isNameChar(c)) {
            int s = pos;
            while (pos < end && isNameChar(src.charAt(pos))) {
                pos++;
            }
            return call(src.substring(s, pos));
        }
        throw error("unexpected '" + c + "'");
    }

    private int charOrEscape() {
        int cp = src.codePointAt(pos);
        pos += Character.charCount(cp);
        if (cp != '\\') {
            return cp;
        }
        if (pos >= end) {
            throw error("trailing backslash");
        }
        char e = src.charAt(pos++);
        return switch (e) {
            case 'n' -> '\n';
            case 't' -> '\t';
            case 'r' -> '\r';
            case '\\', '"', '[', ']', '-' -> e;
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            default -> throw error("unknown escape \\" + e);
        };
    }

    private int hex(int n) {
        if (pos + n > end) {
            throw error("short hex escape");
        }
        try {
            int v = Integer.parseInt(src.substring(pos, pos + n), 16);
            pos += n;
            return v;
        } catch (NumberFormatException ex) {
            throw error("bad hex escape");
        }
    }

    private Rx postfix(Rx atom) {
        while (pos < end) {
            char c = src.charAt(pos);
            if (c == '*') {
                atom = Rx.star(atom);
            } else if (c == '+') {
                atom = new Rx.Repeat(atom, 1, -1);
            } else if (c == '?') {
                atom = Rx.optional(atom);
            } else if (c == '{') {
                int close = src.indexOf('}', pos);
                if (close < 0 || close > end) {
                    throw error("missing '}'");
                }
                String[] mn = src.substring(pos + 1, close).split(",", -1);
                try {
                    int min = Integer.parseInt(mn[0].trim());
                    int max = mn.length == 1 ? min : mn[1].isBlank() ? -1 : Integer.parseInt(mn[1].trim());
                    if (min > 1000 || max > 1000 || (max >= 0 && max < min)) {
                        throw error("bad repetition {" + src.substring(pos + 1, close) + "}");
                    }
                    atom = new Rx.Repeat(atom, min, max);
                } catch (NumberFormatException ex) {
                    throw error("bad repetition {" + src.substring(pos + 1, close) + "}");
                }
                pos = close;
            } else {
                return atom;
            }
            pos++;
        }
        return atom;
    }
}
