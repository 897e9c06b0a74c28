package dev.tandem.tokenizer;

import java.util.Arrays;

/**
 * Streams text as tokens arrive. Byte-level BPE tokens can end in the middle of a UTF-8 character, so each step
 * decodes a short window and only releases text that does not end in U+FFFD, the replacement character an
 * incomplete sequence decodes to (the scheme vLLM and Hugging Face's DecodeStream use).
 */
public final class IncrementalDecoder {
    private final TextTokenizer tokenizer;
    private final boolean skipSpecial;
    private int[] ids = new int[16];
    private int size;
    private int prefixOffset;
    private int readOffset;
    private final StringBuilder text = new StringBuilder();

    IncrementalDecoder(TextTokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    /** Adds {@code id}; returns the text it completes (possibly empty). */
    public String add(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
        String prefix = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset), skipSpecial);
        String full = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size), skipSpecial);
        if (full.length() > prefix.length() && !full.endsWith("\uFFFD")) {
            String delta = full.substring(prefix.length());
            prefixOffset = readOffset;
            readOffset = size;
            text.append(delta);
            return delta;
        }
        return "";
    }

    /**
     * Releases whatever is held back, incomplete characters included (as U+FFFD): called once when the output
     * ends, so the final text is the decode of every id.
     */
    public String flush() {
        String prefix = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset), skipSpecial);
        String full = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size), skipSpecial);
        prefixOffset = readOffset = size;
        String delta = full.length() > prefix.length() ? full.substring(prefix.length()) : "";
        text.append(delta);
        return delta;
    }

    /** Everything released so far. */
    public String text() {
        return text.toString();
    }
}
