package dev.tandem.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * The regular expressions SGLang's {@code regex} takes (Python {@code re} syntax, matched against the whole output):
 * literals, {@code .}, classes with ranges and negation, {@code \d \w \s} and their negations, groups
 * ({@code (...)}, {@code (?:...)}, {@code (?P<name>...)}), alternation, and the quantifiers {@code * + ? {n} {n,}
 * {n,m}} (lazy forms match the same language). Anchors {@code ^ $} are accepted and mean nothing (the match is
 * always whole). Backreferences, lookaround and word boundaries are refused by name: no finite automaton has them.
 */
final class RegexParser {
    private final String src;
    private final int[] cps;
    private int pos;

    private RegexParser(String src) {
        this.src = src;
        this.cps = src.codePoints().toArray();
    }

    static Rx parse(String regex) {
        RegexParser p = new RegexParser(regex);
        Rx r = p.alternation();
        if (p.pos < p.cps.length) {
            throw p.error("unbalanced ')'");
        }
        return r;
    }

    private GrammarException error(String what) {
        return new GrammarException("regex " + abbreviate(src) + " at " + pos + ": " + what);
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? "'" + s + "'" : "'" + s.substring(0, 80) + "...'";
    }

    private boolean more() {
        return pos < cps.length;
    }

    private int peek() {
        return cps[pos];
    }

    private Rx alternation() {
        List<Rx> alts = new ArrayList<>();
        alts.add(sequence());
        while (more() && peek() == '|') {
            pos++;
            alts.add(sequence());
        }
        return alts.size() == 1 ? alts.getFirst() : new Rx.Alt(alts);
    }

    private Rx sequence() {
        List<Rx> items = new ArrayList<>();
        while (more() && peek() != '|' && peek() != ')') {
            Rx atom = atom();
            items.add(quantified(atom));
        }
        return items.size() == 1 ? items.getFirst() : new Rx.Seq(items);
    }

    private Rx quantified(Rx atom) {
        while (more()) {
            int c = peek();
            int min;
            int max;
            if (c == '*') {
                min = 0;
                max = -1;
                pos++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                pos++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                pos++;
            } else if (c == '{' && isCounter()) {
                pos++;
                min = number();
                max = min;
                if (peek() == ',') {
                    pos++;
                    max = peek() == '}' ? -1 : number();
                }
                pos++; // '}'
                if (max >= 0 && max < min) {
                    throw error("repetition {" + min + "," + max + "} has max < min");
                }
            } else {
                return atom;
            }
            if (more() && peek() == '?') {
                pos++; // lazy: same language
            } else if (more() && peek() == '+') {
                throw error("possessive quantifiers are not supported");
            }
            if (max > 1000 || min > 1000) {
                throw error("repetition counts above 1000 are not supported");
            }
            atom = new Rx.Repeat(atom, min, max);
        }
        return atom;
    }

    /** A '{' that starts {n}, {n,} or {n,m}; otherwise it is a literal brace, as in Python. */
    private boolean isCounter() {
        int i = pos + 1;
        int digits = 0;
        while (i < cps.length && Character.isDigit(cps[i])) {
            i++;
            digits++;
        }
        if (digits == 0) {
            return false;
        }
        if (i < cps.length && cps[i] == '}') {
            return true;
        }
        if (i >= cps.length || cps[i] != ',') {
            return false;
        }
        i++;
        while (i < cps.length && Character.isDigit(cps[i])) {
            i++;
        }
        return i < cps.length && cps[i] == '}';
    }

    private int number() {
        int start = pos;
        while (more() && Character.isDigit(peek())) {
            pos++;
        }
        try {
            return Integer.parseInt(new String(cps, start, pos - start));
        } catch (NumberFormatException e) {
            throw error("repetition count too large");
        }
    }

    private Rx atom() {
        int c = cps[pos++];
        switch (c) {
            case '(' -> {
                if (more() && peek() == '?') {
                    pos++;
                    if (more() && peek() == ':') {
                        pos++;
                    } else if (more() && peek() == 'P' && pos + 1 < cps.length && cps[pos + 1] == '<') {
                        while (more() && peek() != '>') {
                            pos++;
                        }
                        pos++;
                    } else {
                        throw error("group '(?" + (more() ? new String(Character.toChars(peek())) : "")
                                + "' (lookaround, flags or named forms) is not supported");
                    }
                }
                Rx inner = alternation();
                if (!more() || peek() != ')') {
                    throw error("missing ')'");
                }
                pos++;
                return inner;
            }
            case '[' -> {
                return new Rx.Chars(charClass());
            }
            case '.' -> {
                return new Rx.Chars(CharSets.ANY_BUT_NEWLINE);
            }
            case '^', '$' -> {
                return Rx.EMPTY;
            }
            case '\\' -> {
                int[] set = escape(false);
                return new Rx.Chars(set);
            }
            case '*', '+', '?' -> throw error("nothing to repeat before '" + (char) c + "'");
            default -> {
                return new Rx.Chars(new int[] {c, c});
            }
        }
    }

    /** After a backslash: the set it denotes (one code point for a literal escape). */
    private int[] escape(boolean inClass) {
        if (!more()) {
            throw error("trailing backslash");
        }
        int c = cps[pos++];
        return switch (c) {
            case 'd' -> CharSets.DIGIT;
            case 'D' -> CharSets.complement(CharSets.DIGIT);
            case 'w' -> CharSets.WORD;
            case 'W' -> CharSets.complement(CharSets.WORD);
            case 's' -> CharSets.SPACE;
            case 'S' -> CharSets.complement(CharSets.SPACE);
            case 'n' -> one('\n');
            case 't' -> one('\t');
            case 'r' -> one('\r');
            case 'f' -> one('\f');
            case 'v' -> one(0x0B);
            case '0' -> one(0);
            case 'x' -> one(hex(2));
            case 'u' -> one(hex(4));
            case 'U' -> one(hex(8));
            case 'b' -> {
                if (inClass) {
                    yield one('\b');
                }
                throw error("word boundaries (\\b) are not supported");
            }
            case 'B', 'A', 'Z', 'z', 'G' -> throw error("anchor \\" + (char) c + " is not supported");
            default -> {
                if (Character.isDigit(c)) {
                    throw error("backreferences are not supported");
                }
                if (Character.isLetter(c)) {
                    throw error("unknown escape \\" + new String(Character.toChars(c)));
                }
                yield one(c);
            }
        };
    }

    private static int[] one(int c) {
        return new int[] {c, c};
    }

    private int hex(int n) {
        if (pos + n > cps.length) {
            throw error("short hex escape");
        }
        try {
            int v = Integer.parseInt(new String(cps, pos, n), 16);
            pos += n;
            if (v > Utf8Ranges.MAX) {
                throw error("code point beyond U+10FFFF");
            }
            return v;
        } catch (NumberFormatException e) {
            throw error("bad hex escape");
        }
    }

    private int[] charClass() {
        boolean negate = more() && peek() == '^';
        if (negate) {
            pos++;
        }
        List<int[]> pairs = new ArrayList<>();
        boolean first = true;
        while (true) {
            if (!more()) {
                throw error("missing ']'");
            }
            int c = cps[pos++];
            if (c == ']' && !first) {
                break;
            }
            first = false;
            int lo;
            if (c == '\\') {
                int[] set = escape(true);
                if (set.length > 2 || set[0] != set[1]) {
                    CharSets.addAll(pairs, set);
                    continue;
                }
                lo = set[0];
            } else {
                lo = c;
            }
            if (more() && peek() == '-' && pos + 1 < cps.length && cps[pos + 1] != ']') {
                pos++;
                int h = cps[pos++];
                int hi;
                if (h == '\\') {
                    int[] set = escape(true);
                    if (set.length > 2 || set[0] != set[1]) {
                        throw error("a class cannot end a range");
                    }
                    hi = set[0];
                } else {
                    hi = h;
                }
                if (hi < lo) {
                    throw error("bad character range");
                }
                pairs.add(new int[] {lo, hi});
            } else {
                pairs.add(new int[] {lo, lo});
            }
        }
        int[] set = CharSets.normalize(pairs);
        return negate ? CharSets.complement(set) : set;
    }
}
