package dev.tandem.tokenizer;

import dev.tandem.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bytes a grammar judges per token id, checked against what the tokenizer itself decodes. */
class TokenBytesTest {

    @Test
    void byteLevelBytesAreWhatTheTokenizerDecodes() {
        byte[][] bytes = TokenBytes.load(TestModels.tiny());
        assertEquals(512, bytes.length);
        int partial = 0;
        try (TextTokenizer tok = TextTokenizer.load(TestModels.tiny())) {
            for (int id = 0; id < 508; id++) {
                String text = strictUtf8(bytes[id]);
                if (text == null) {
                    partial++; // part of a character: the decoder alone cannot show it, the grammar still can
                    continue;
                }
                assertEquals(tok.decode(new int[] {id}, false), text, "token " + id);
            }
            for (int id = 508; id < 512; id++) {
                assertNull(bytes[id], "special token " + id);
            }
        }
        assertTrue(partial >= 128, "the lone bytes 0x80..0xFF are tokens that end mid-character: " + partial);
        assertArrayEquals(new byte[] {(byte) 0xC3}, bytes[indexOfByte(bytes, 0xC3)]);
    }

    private static int indexOfByte(byte[][] bytes, int b) {
        for (int id = 0; id < bytes.length; id++) {
            if (bytes[id] != null && bytes[id].length == 1 && (bytes[id][0] & 0xFF) == b) {
                return id;
            }
        }
        throw new AssertionError("no token for byte " + b);
    }

    private static String strictUtf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    @Test
    void sentencePieceSpacesAndByteFallbackTokens(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"model": {"type": "BPE", "byte_fallback": true,
                           "vocab": {"<unk>": 0, "<0x0A>": 1, "<0xE2>": 2, "\u2581the": 3, "é": 4, "<0x1>": 5}},
                 "decoder": {"type": "Sequence", "decoders": [{"type": "Replace"}, {"type": "ByteFallback"}]},
                 "added_tokens": [{"id": 6, "content": "</s>", "special": true},
                                  {"id": 7, "content": "<tool_call>", "special": false}]}""");
        byte[][] b = TokenBytes.load(dir);
        assertArrayEquals(new byte[] {'\n'}, b[1]);
        assertArrayEquals(new byte[] {(byte) 0xE2}, b[2]);
        assertArrayEquals(" the".getBytes(StandardCharsets.UTF_8), b[3]);
        assertArrayEquals("é".getBytes(StandardCharsets.UTF_8), b[4]);
        assertArrayEquals("<0x1>".getBytes(StandardCharsets.UTF_8), b[5], "not a byte token: literal");
        assertNull(b[6]);
        assertArrayEquals("<tool_call>".getBytes(StandardCharsets.UTF_8), b[7]);
    }
}
