package dev.tandem.engine.model;

import java.util.Arrays;

/**
 * Logits of one forward pass: {@code logits} is {@code [rows, vocab]} (possibly longer: the arrays are the
 * transformer's reused workspace, valid until its next forward call); chunk {@code i} of the batch owns rows
 * {@code firstRow[i] .. firstRow[i] + rowCount[i]}, in token order.
 */
public record ForwardOutput(float[] logits, int vocab, int[] firstRow, int[] rowCount) {

    /** Logits after token {@code logitsFrom + j} of chunk {@code chunk}, a copy of length {@code vocab}. */
    public float[] row(int chunk, int j) {
        if (j < 0 || j >= rowCount[chunk]) {
            throw new IndexOutOfBoundsException("chunk " + chunk + " has " + rowCount[chunk] + " logit rows, asked " + j);
        }
        int from = (firstRow[chunk] + j) * vocab;
        return Arrays.copyOfRange(logits, from, from + vocab);
    }

    /** Where row {@code j} of chunk {@code chunk} starts in {@link #logits()}, to read it in place without a copy. */
    public int offset(int chunk, int j) {
        if (j < 0 || j >= rowCount[chunk]) {
            throw new IndexOutOfBoundsException("chunk " + chunk + " has " + rowCount[chunk] + " logit rows, asked " + j);
        }
        return (firstRow[chunk] + j) * vocab;
    }

    /** Where the last row of chunk {@code chunk} starts in {@link #logits()} (read it in place, no copy). */
    public int lastOffset(int chunk) {
        return offset(chunk, rowCount[chunk] - 1);
    }

    /** Logits after the last token of chunk {@code chunk}. */
    public float[] last(int chunk) {
        return row(chunk, rowCount[chunk] - 1);
    }
}
