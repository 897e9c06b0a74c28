package dev.tandem.tokenizer;

/**
 * The {@link IncrementalDecoder} over a {@link DecodeTable}: each id's bytes go through a UTF-8 state machine that
 * appends every completed character straight to the caller's text and keeps the bytes of an unfinished one (at most
 * three) in a few ints. Nothing is allocated per token; the whole text comes out as the library's {@code decode}
 * of all the ids would give it (the same replacement characters for invalid UTF-8, the same {@code Strip}).
 *
 * <p>One exception, which no streaming decoder can avoid: in the SentencePiece chain a run of byte tokens that
 * completes a character and later turns invalid is replaced as a whole by the library, while the character was
 * already released here.
 */
final class ByteDecoder implements IncrementalDecoder {
    private static final char REPLACEMENT = '\uFFFD';

    private final DecodeTable table;
    private final boolean skipSpecial;
    /** The character being assembled: its bits so far, continuation bytes still needed, bytes seen. */
    private int cp;
    private int need;
    private int have;
    /** The range the next continuation byte must fall in (narrower after E0, ED, F0, F4: Unicode table 3-7). */
    private int lo = 0x80;
    private int hi = 0xBF;
    /** SentencePiece chain: the current run of byte tokens is already invalid, so its later bytes are U+FFFD too. */
    private boolean failedRun;
    /** Leading strip characters still to cut. */
    private int strip;

    ByteDecoder(DecodeTable table, boolean skipSpecial) {
        this.table = table;
        this.skipSpecial = skipSpecial;
        this.strip = table.stripLeading;
    }

    @Override
    public int add(int id, StringBuilder out) {
        if (id < 0 || id >= table.bytes.length || table.bytes[id] == null || (skipSpecial && table.special[id])) {
            return 0; // unknown ids decode to nothing; a skipped special token does not even end a byte run
        }
        int before = out.length();
        byte[] b = table.bytes[id];
        if (!table.perByteToken) {
            for (byte x : b) {
                lossy(x & 0xFF, out);
            }
        } else if (table.byteToken[id]) {
            byteOfRun(b[0] & 0xFF, out);
        } else {
            endRun(out);
            for (byte x : b) { // a token's own text: valid UTF-8
                lossy(x & 0xFF, out);
            }
        }
        return out.length() - before;
    }

    @Override
    public int flush(StringBuilder out) {
        int before = out.length();
        if (table.perByteToken) {
            endRun(out);
        } else if (need > 0) {
            reset();
            emit(REPLACEMENT, out); // an incomplete sequence at the end: one U+FFFD, as from_utf8_lossy
        }
        return out.length() - before;
    }

    /** {@code String::from_utf8_lossy}, one byte at a time: one U+FFFD per maximal invalid subsequence. */
    private void lossy(int x, StringBuilder out) {
        if (need > 0) {
            if (x >= lo && x <= hi) {
                continuation(x, out);
                return;
            }
            reset();
            emit(REPLACEMENT, out); // the unfinished character ends here; x starts afresh
        }
        if (!lead(x, out)) {
            emit(REPLACEMENT, out);
        }
    }

    /** One byte of a run of byte tokens: a run that is not valid UTF-8 is one U+FFFD per byte. */
    private void byteOfRun(int x, StringBuilder out) {
        if (failedRun) {
            emit(REPLACEMENT, out);
        } else if (need > 0 && x >= lo && x <= hi) {
            continuation(x, out);
        } else if (need > 0 || !lead(x, out)) {
            int n = have + 1;
            reset();
            failedRun = true;
            for (int i = 0; i < n; i++) {
                emit(REPLACEMENT, out);
            }
        }
    }

    /** A token that is not a byte token ends the run: bytes still waiting are one U+FFFD each. */
    private void endRun(StringBuilder out) {
        int n = have;
        reset();
        failedRun = false;
        for (int i = 0; i < n; i++) {
            emit(REPLACEMENT, out);
        }
    }

    /** Starts a character at byte {@code x} (appending it when it is ASCII); false when x cannot start one. */
    private boolean lead(int x, StringBuilder out) {
        if (x < 0x80) {
            emit((char) x, out);
        } else if (x >= 0xC2 && x <= 0xDF) {
            start(x & 0x1F, 1, 0x80, 0xBF);
        } else if (x >= 0xE0 && x <= 0xEF) {
            start(x & 0x0F, 2, x == 0xE0 ? 0xA0 : 0x80, x == 0xED ? 0x9F : 0xBF);
        } else if (x >= 0xF0 && x <= 0xF4) {
            start(x & 0x07, 3, x == 0xF0 ? 0x90 : 0x80, x == 0xF4 ? 0x8F : 0xBF);
        } else {
            return false;
        }
        return true;
    }

    private void start(int bits, int more, int low, int high) {
        cp = bits;
        need = more;
        have = 1;
        lo = low;
        hi = high;
    }

    private void continuation(int x, StringBuilder out) {
        cp = (cp << 6) | (x & 0x3F);
        have++;
        lo = 0x80;
        hi = 0xBF;
        if (--need == 0) {
            int c = cp;
            reset();
            if (c >= 0x10000) {
                emit(Character.highSurrogate(c), out);
                emit(Character.lowSurrogate(c), out);
            } else {
                emit((char) c, out);
            }
        }
    }

    private void reset() {
        cp = 0;
        need = 0;
        have = 0;
        lo = 0x80;
        hi = 0xBF;
    }

    private void emit(char c, StringBuilder out) {
        if (strip > 0) {
            if (c == table.stripChar) {
                strip--;
                return;
            }
            strip = 0;
        }
        out.append(c);
    }
}
