package dev.tandem.tokenizer;

/**
 * Turns a growing list of output ids into text, releasing only whole characters: a token may end in the middle of
 * a UTF-8 character, whose bytes wait for the rest. The text released over all {@link #add} calls and a final
 * {@link #flush} is the tokenizer's {@code decode} of every id. One per request, not thread-safe; chosen by
 * {@link TextTokenizer#incrementalDecoder(boolean)}.
 */
public interface IncrementalDecoder {
    /** Adds {@code id}, appends the text it completes to {@code out}; returns how many chars it appended. */
    int add(int id, StringBuilder out);

    /**
     * Releases whatever is held back, incomplete characters included (as U+FFFD) into {@code out}: called once when
     * the output ends. Returns how many chars it appended.
     */
    int flush(StringBuilder out);

    /** {@link #add(int, StringBuilder)} returning the text as a new string (for callers off the hot path). */
    default String add(int id) {
        StringBuilder b = new StringBuilder();
        add(id, b);
        return b.toString();
    }

    /** {@link #flush(StringBuilder)} returning the text as a new string. */
    default String flush() {
        StringBuilder b = new StringBuilder();
        flush(b);
        return b.toString();
    }
}
