package dev.tandem.tokenizer;

import java.util.Arrays;

/**
 * The fallback {@link IncrementalDecoder} for tokenizers whose decoder {@link DecodeTable} does not model: each
 * step decodes a short window with the Hugging Face library and only releases text that does not end in U+FFFD, the
 * replacement character an incomplete sequence decodes to (the scheme vLLM and Hugging Face's DecodeStream use).
 * Two native decodes and their strings per token: the byte decoder replaces it wherever it can.
 */
final class WindowDecoder implements IncrementalDecoder {
    private final TextTokenizer tokenizer;
    private final boolean skipSpecial;
    private int[] ids = new int[16];
    private int size;
    private int prefixOffset;
    private int readOffset;

    WindowDecoder(TextTokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    @Override
    public int add(int id, StringBuilder out) {
        String delta = next(id);
        out.append(delta);
        return delta.length();
    }

    @Override
    public int flush(StringBuilder out) {
        String delta = rest();
        out.append(delta);
        return delta.length();
    }

    /** Adds {@code id}; returns the text it completes (possibly empty). */
    private String next(int id) {
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
            return delta;
        }
        return "";
    }

    /** Releases whatever is held back, incomplete characters included (as U+FFFD). */
    private String rest() {
        String prefix = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset), skipSpecial);
        String full = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size), skipSpecial);
        prefixOffset = readOffset = size;
        return full.length() > prefix.length() ? full.substring(prefix.length()) : "";
    }
}
