package dev.tandem.engine.model;

/**
 * One request's slice of a ragged forward batch: {@code tokens} at positions {@code startPos ..} of the request that
 * owns KV table row {@code kvRow}. Positions {@code [0, startPos)} must already be in the KV cache (an earlier chunk
 * or decode step) and the row must have capacity for {@code startPos + tokens.length}.
 *
 * @param logitsFrom index into {@code tokens} of the first token whose next-token logits are wanted: {@code
 *                   tokens.length - 1} for sampling, smaller for prompt logprobs, {@code tokens.length} for none (a
 *                   chunk in the middle of a chunked prefill)
 */
public record SequenceChunk(int kvRow, int startPos, int[] tokens, int logitsFrom) {
    public SequenceChunk {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("a sequence chunk needs at least one token");
        }
        if (startPos < 0 || logitsFrom < 0 || logitsFrom > tokens.length) {
            throw new IllegalArgumentException("bad chunk: startPos=" + startPos + " logitsFrom=" + logitsFrom
                    + " tokens=" + tokens.length);
        }
    }

    /** The usual case: logits for the last token only. */
    public static SequenceChunk lastLogits(int kvRow, int startPos, int... tokens) {
        return new SequenceChunk(kvRow, startPos, tokens, tokens.length - 1);
    }

    public int logitRows() {
        return tokens.length - logitsFrom;
    }

    public int endPos() {
        return startPos + tokens.length;
    }
}
