package dev.tandem.grammar;

/**
 * A constraint as a request states it, before compilation: what kind, its source text, and the request field it came
 * from (errors name that field). Equal specs compile to the same automaton, which is what the cache keys on.
 *
 * @param field the request field, e.g. {@code sampling_params.json_schema} or {@code response_format}
 */
public record GrammarSpec(Kind kind, String source, String field) {
    public enum Kind {
        REGEX, JSON_SCHEMA, JSON_OBJECT, EBNF,
        /** A tool call: {@code {"prefix": text, "schema": the call object's schema, "suffix": text}}. */
        TOOL_CALL
    }

    public GrammarSpec {
        if (kind == null || source == null) {
            throw new IllegalArgumentException("a grammar needs a kind and a source");
        }
    }

    /** The automaton of this constraint, a DFA unless it is recursive (uncached: see {@link GrammarCache}). */
    public Automaton compile() {
        Rules rules = switch (kind) {
            case REGEX -> Rules.single(RegexParser.parse(source));
            case JSON_SCHEMA -> JsonGrammar.schema(source);
            case JSON_OBJECT -> JsonGrammar.anyObject();
            case EBNF -> Ebnf.parse(source);
            case TOOL_CALL -> JsonGrammar.wrapped(source);
        };
        return rules.compile();
    }
}
