package dev.tandem.tokenizer;

import dev.tandem.TestModels;
import dev.tandem.modelgen.ByteLevelBpe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The streaming decoder over token bytes gives, token by token, exactly what the Hugging Face library's
 * {@code decode} of the whole sequence gives: checked against the library itself over real tokenizer files (the
 * tiny model's, a 8192-token vocabulary built the way the bench model's was) and hand-written ones that exercise
 * the rest of what it models (added tokens through the byte table, SentencePiece spaces, byte fallback, Strip), for
 * valid text split anywhere inside characters, special tokens skipped or kept, ids the tokenizer does not know, and
 * arbitrary (invalid) byte sequences.
 */
class IncrementalDecoderTest {

    @Test
    void tinyVocabularyRandomSequencesDecodeAsTheLibrary() {
        try (TextTokenizer tok = TextTokenizer.load(TestModels.tiny())) {
            assertTrue(tok.decodesBytes(), "byte-level BPE is decoded over token bytes");
            SplittableRandom r = new SplittableRandom(1);
            for (int n = 0; n < 400; n++) {
                int[] ids = new int[1 + r.nextInt(24)];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = r.nextInt(520); // 508..511 special, 512.. unknown to the tokenizer
                }
                assertStreamsAsDecode(tok, ids, true);
                assertStreamsAsDecode(tok, ids, false);
            }
        }
    }

    @Test
    void textSplitInsideCharactersStreamsWholeCharacters(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), ByteLevelBpe.build(8192).toJson(), StandardCharsets.UTF_8);
        try (TextTokenizer small = TextTokenizer.load(TestModels.tiny()); TextTokenizer big = TextTokenizer.load(dir)) {
            for (TextTokenizer tok : List.of(small, big)) {
                for (String text : TEXTS) {
                    int[] ids = tok.encode(text, true);
                    assertEquals(tok.decode(ids, true), streamValid(tok, ids, true), text);
                    assertStreamsAsDecode(tok, ids, false);
                }
            }
        }
    }

    @Test
    void byteLevelAddedTokensAndInvalidBytesDecodeAsTheLibrary(@TempDir Path dir) throws IOException {
        StringBuilder vocab = new StringBuilder();
        char[] table = bytesToUnicode();
        for (int b = 0; b < 256; b++) {
            vocab.append(vocab.isEmpty() ? "" : ",").append(jsonString(String.valueOf(table[b]))).append(':').append(b);
        }
        // Added tokens: special and not, spelled in the byte table (mapped) or not (taken literally).
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {" + vocab
                + "}, \"merges\": []}, \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true,"
                + " \"trim_offsets\": true, \"use_regex\": true}, \"added_tokens\": [" + added(256, "<s>", true) + ","
                + added(257, "\u00c3x", false) + "," + added(258, "\u00c3y", true) + "," + added(259, "caf\u00e9 !", false)
                + "," + added(260, "\u4f60", true) + "]}");
        try (TextTokenizer tok = TextTokenizer.load(dir)) {
            assertTrue(tok.decodesBytes());
            SplittableRandom r = new SplittableRandom(2);
            for (int n = 0; n < 1500; n++) {
                int[] ids = new int[1 + r.nextInt(12)];
                for (int i = 0; i < ids.length; i++) {
                    // lead bytes, continuation bytes and the bytes no UTF-8 may hold, often
                    ids[i] = r.nextInt(4) == 0 ? 256 + r.nextInt(6) : r.nextInt(3) == 0 ? r.nextInt(128)
                            : 0x80 + r.nextInt(128);
                }
                assertStreamsAsDecode(tok, ids, true);
                assertStreamsAsDecode(tok, ids, false);
            }
        }
    }

    @Test
    void sentencePieceSpacesByteFallbackAndStripDecodeAsTheLibrary(@TempDir Path dir) throws IOException {
        List<String> pieces = List.of("\u2581the", "\u2581", "\u2581\u2581", "a", "\u00e9", "\u4f60\u597d",
                "\u2581hello", "lo\u2581", "\ud83d\ude80", "<0x1>");
        StringBuilder vocab = new StringBuilder("\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2");
        for (int b = 0; b < 256; b++) {
            vocab.append(String.format(", \"<0x%02X>\": %d", b, 3 + b));
        }
        for (int i = 0; i < pieces.size(); i++) {
            vocab.append(", ").append(jsonString(pieces.get(i))).append(": ").append(259 + i);
        }
        int toolCall = 259 + pieces.size();
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true,"
                + " \"vocab\": {" + vocab + "}, \"merges\": []}, \"decoder\": {\"type\": \"Sequence\", \"decoders\": ["
                + "{\"type\": \"Replace\", \"pattern\": {\"String\": \"\u2581\"}, \"content\": \" \"},"
                + " {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"},"
                + " {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]}, \"added_tokens\": ["
                + added(0, "<unk>", true) + "," + added(1, "<s>", true) + "," + added(2, "</s>", true) + ","
                + added(toolCall, "<tool>", false) + "]}");
        try (TextTokenizer tok = TextTokenizer.load(dir)) {
            assertTrue(tok.decodesBytes());
            SplittableRandom r = new SplittableRandom(3);
            for (int n = 0; n < 1500; n++) {
                List<Integer> ids = new ArrayList<>();
                int segments = 1 + r.nextInt(6);
                for (int s = 0; s < segments; s++) {
                    switch (r.nextInt(5)) {
                        case 0 -> ids.add(1 + r.nextInt(2)); // <s> or </s>
                        case 1 -> { // a valid character as byte tokens
                            for (byte b : String.valueOf(Character.toChars(CHARS[r.nextInt(CHARS.length)]))
                                    .getBytes(StandardCharsets.UTF_8)) {
                                ids.add(3 + (b & 0xFF));
                            }
                        }
                        case 2 -> { // a run that is invalid from its first byte on: one U+FFFD per byte token
                            ids.add(3 + 0x80 + r.nextInt(64));
                            for (int k = r.nextInt(3); k > 0; k--) {
                                ids.add(3 + r.nextInt(256));
                            }
                        }
                        case 3 -> ids.add(toolCall);
                        default -> ids.add(300 + r.nextInt(50)); // unknown to the tokenizer: dropped
                    }
                    // A run ends at a token that is not a byte token; specials (when skipped) and unknown ids are
                    // dropped before the decoder sees the run, so they do not end it.
                    ids.add(259 + r.nextInt(pieces.size()));
                }
                if (r.nextBoolean()) { // ends inside a character: the flush gives its U+FFFDs
                    ids.add(3 + 0xE4);
                    ids.add(3 + 0xBD);
                }
                int[] a = ids.stream().mapToInt(Integer::intValue).toArray();
                assertStreamsAsDecode(tok, a, true);
                assertStreamsAsDecode(tok, a, false);
            }
            int[] valid = {1, 259, 3 + 0xE2, 3 + 0x82, 3 + 0xAC, 262, 260};
            assertEquals("the\u20aca ", streamValid(tok, valid, true), "Strip cuts the first space, once");
            // The one case no streaming decoder can match: a run that completed a character, then turned invalid.
            int[] late = {3 + 0xE2, 3 + 0x82, 3 + 0xAC, 3 + 0x80};
            assertEquals("\ufffd\ufffd\ufffd\ufffd", tok.decode(late, true));
            assertEquals("\u20ac\ufffd", stream(tok, late, true, null));
        }
    }

    @Test
    void otherDecodersGoThroughTheLibrary(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"\u2581the\": 0,"
                + " \"a\": 1, \"\u2581b\": 2}, \"merges\": []}, \"decoder\": {\"type\": \"Metaspace\", \"replacement\":"
                + " \"\u2581\", \"prepend_scheme\": \"always\", \"split\": true}}");
        try (TextTokenizer tok = TextTokenizer.load(dir)) {
            assertFalse(tok.decodesBytes(), "Metaspace is not modelled: the library decodes");
            int[] ids = {0, 1, 2, 0};
            assertEquals(tok.decode(ids, true), streamValid(tok, ids, true));
        }
    }

    private static final String[] TEXTS = {"Hello, world! The quick brown fox.", "Caf\u00e9, na\u00efve, \u4f60\u597d\u4e16\u754c",
        "emoji \ud83d\ude80\ud83c\udf89 and math \u2211\u222b.", "\u00e9", "  leading and trailing spaces  ",
        "tabs\tand\nnewlines\r\n", "<|im_start|>user\nHi<|im_end|>", "\u0000\u007f\u0080\u00ff\u0100\uffff",
        "\ud800\udc00\udbff\udfff mixed ascii \u0928\u092e\u0938\u094d\u0924\u0947"};
    private static final int[] CHARS = {'A', 0xE9, 0x20AC, 0x4F60, 0x1F680, 0x10FFFF, 0x80, 0x7FF, 0x800, 0xFFFF,
        0x10000, 0xD7FF, 0xE000};

    /** Streams {@code ids} then flushes; the whole text must equal the library's decode, each step a prefix of it. */
    private static void assertStreamsAsDecode(TextTokenizer tok, int[] ids, boolean skip) {
        String expected = tok.decode(ids, skip);
        assertEquals(expected, stream(tok, ids, skip, expected), () -> "ids " + java.util.Arrays.toString(ids)
                + " skip_special_tokens=" + skip);
    }

    /** For valid text: every delta holds whole characters and the text so far is the decode of the ids so far. */
    private static String streamValid(TextTokenizer tok, int[] ids, boolean skip) {
        IncrementalDecoder dec = tok.incrementalDecoder(skip);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            String delta = dec.add(ids[i]);
            assertFalse(delta.contains("\ufffd"), "a broken character released: " + delta);
            out.append(delta);
            String sofar = tok.decode(java.util.Arrays.copyOf(ids, i + 1), skip);
            // the library's decode of a prefix ends in U+FFFD where it stops inside a character (one per byte token
            // in the SentencePiece chain); that is held back
            assertEquals(sofar.replaceFirst("\ufffd+$", ""), out.toString());
        }
        assertEquals("", dec.flush(), "nothing held back after valid text");
        return out.toString();
    }

    /** The streamed text; with {@code expected}, also checks that each step only appends to a prefix of it. */
    private static String stream(TextTokenizer tok, int[] ids, boolean skip, String expected) {
        IncrementalDecoder dec = tok.incrementalDecoder(skip);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            int n = dec.add(id, out);
            assertTrue(n >= 0);
            if (expected != null) {
                assertTrue(expected.startsWith(out.toString()), () -> "released " + out + ", not a prefix of "
                        + expected);
            }
        }
        dec.flush(out);
        return out.toString();
    }

    /** GPT-2's printable stand-ins for the 256 bytes. */
    private static char[] bytesToUnicode() {
        char[] map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean direct = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = direct ? (char) b : (char) (256 + n++);
        }
        return map;
    }

    private static String added(int id, String content, boolean special) {
        return "{\"id\": " + id + ", \"content\": " + jsonString(content) + ", \"single_word\": false, \"lstrip\":"
                + " false, \"rstrip\": false, \"normalized\": false, \"special\": " + special + "}";
    }

    private static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
