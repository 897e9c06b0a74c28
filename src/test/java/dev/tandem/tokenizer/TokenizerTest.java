package dev.tandem.tokenizer;

import dev.tandem.TestModels;
import dev.tandem.modelgen.ByteLevelBpe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerTest {
    private static TextTokenizer tok;
    private static int bos;

    @BeforeAll
    static void load() {
        tok = TextTokenizer.load(TestModels.tiny());
        bos = ByteLevelBpe.build(512).specialId(ByteLevelBpe.BOS);
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @Test
    void encodeAddsBosAndDecodeRoundTrips() {
        String text = "Hello, world! The quick brown fox jumps over the lazy dog.";
        int[] ids = tok.encode(text, true);
        assertEquals(bos, ids[0]);
        assertEquals(ids.length - 1, tok.encode(text, false).length);
        assertEquals(text, tok.decode(ids, true));
        // Learned merges: common English words take fewer tokens than bytes.
        assertTrue(ids.length < text.length() * 0.7, ids.length + " tokens for " + text.length() + " chars");
        assertEquals(ByteLevelBpe.BOS + text, tok.decode(ids, false));
    }

    @Test
    void unicodeRoundTripsAndStreamsWithoutBrokenCharacters() {
        String text = "Café, naïve, 你好世界, emoji 🚀🎉 and math ∑∫.";
        int[] ids = tok.encode(text, false);
        assertEquals(text, tok.decode(ids, true));
        IncrementalDecoder dec = tok.incrementalDecoder(true);
        StringBuilder streamed = new StringBuilder();
        int emptySteps = 0;
        for (int id : ids) {
            String delta = dec.add(id);
            assertFalse(delta.contains("\uFFFD"), "delta with a broken character: " + delta);
            emptySteps += delta.isEmpty() ? 1 : 0;
            streamed.append(delta);
        }
        assertEquals(text, streamed.toString());
        assertTrue(emptySteps > 0, "multi-byte characters span several byte tokens, so some steps release nothing");
    }

    @Test
    void flushReleasesAnIncompleteCharacterAtTheEnd() {
        int[] ids = tok.encode("é", false); // two byte tokens: 0xC3 0xA9
        IncrementalDecoder dec = tok.incrementalDecoder(true);
        assertEquals("", dec.add(ids[0]));
        assertEquals("\uFFFD", dec.flush(), "a lone lead byte decodes to the replacement character at the end");
        assertEquals("", dec.flush(), "released once");
    }

    @Test
    void longInputsAreNotTruncated() {
        String text = "the model reads the whole prompt at once. ".repeat(200);
        int[] ids = tok.encode(text, true);
        assertTrue(ids.length > 1000, "got " + ids.length);
        assertEquals(text, tok.decode(ids, true));
    }

    @Test
    void chatTemplateRendersChatMl() {
        ChatTemplate t = tok.chatTemplate();
        String prompt = t.render(List.of(new ChatTemplate.Message("system", "Be brief."),
                new ChatTemplate.Message("user", "Hi!")), true);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
                + "<|im_start|>assistant\n", prompt);
        int[] ids = tok.encode(prompt, true);
        int imStart = ByteLevelBpe.build(512).specialId(ByteLevelBpe.IM_START);
        assertEquals(imStart, ids[1], "special tokens in the text encode as their ids");
    }

    @Test
    void templatesCanRaiseAndUseLlamaHelpers() {
        ChatTemplate t = new ChatTemplate("{% if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}"
                + "{% endif %}{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]{{ m['content'] | trim }}{% endfor %}",
                "<s>", "</s>");
        assertEquals("<s>[user]hello[assistant]hi", t.render(List.of(new ChatTemplate.Message("user", " hello "),
                new ChatTemplate.Message("assistant", "hi")), false));
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> t.render(List.of(new ChatTemplate.Message("assistant", "x")), false));
        assertTrue(e.getMessage().contains("first must be user"), e.getMessage());
    }

    @Test
    void missingTokenizerFileIsNamed(@TempDir Path dir) throws IOException {
        assertTrue(assertThrows(TokenizerException.class, () -> TextTokenizer.load(dir)).getMessage()
                .startsWith("tokenizer.json: not found in "));
        Files.writeString(dir.resolve("tokenizer.json"), "{not json");
        assertTrue(assertThrows(TokenizerException.class, () -> TextTokenizer.load(dir)).getMessage()
                .startsWith("tokenizer.json: cannot load"));
    }
}
