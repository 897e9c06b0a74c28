package dev.tandem.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * The bytes each token id of a {@code tokenizer.json} decodes to, which is what a grammar judges. Byte-level BPE
 * (GPT-2, Llama 3, Qwen: the {@code ByteLevel} decoder) maps each character of a token back through GPT-2's
 * byte-to-character table; SentencePiece-style vocabularies (Llama 2, Mistral) spell a space as U+2581 and single
 * bytes as {@code <0xAB>} byte-fallback tokens. Either way a token may hold part of a UTF-8 character. Special added
 * tokens get null (they never appear in constrained text); other added tokens are their literal UTF-8.
 */
public final class TokenBytes {
    private TokenBytes() {
    }

    /** Per id (up to the highest id in the file), its bytes or null. */
    public static byte[][] load(Path dir) {
        JsonNode t;
        try {
            t = new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
        } catch (IOException e) {
            throw new TokenizerException("tokenizer.json: cannot read (" + e.getMessage() + ")", e);
        }
        JsonNode vocab = t.path("model").path("vocab");
        if (!vocab.isObject()) {
            throw new TokenizerException("tokenizer.json: model.vocab is not a map of token to id (model type "
                    + t.path("model").path("type").asText("?") + " is not supported for structured outputs)");
        }
        boolean byteLevel = usesByteLevel(t.path("decoder"));
        int max = -1;
        for (JsonNode id : vocab) {
            max = Math.max(max, id.asInt());
        }
        for (JsonNode a : t.path("added_tokens")) {
            max = Math.max(max, a.path("id").asInt());
        }
        byte[][] out = new byte[max + 1][];
        int[] unicodeToByte = byteLevel ? unicodeToByte() : null;
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out[e.getValue().asInt()] = byteLevel ? byteLevel(e.getKey(), unicodeToByte) : sentencePiece(e.getKey());
        }
        for (JsonNode a : t.path("added_tokens")) {
            int id = a.path("id").asInt();
            out[id] = a.path("special").asBoolean(false) ? null
                    : a.path("content").asText().getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }

    static boolean usesByteLevel(JsonNode decoder) {
        if ("ByteLevel".equals(decoder.path("type").asText())) {
            return true;
        }
        for (JsonNode d : decoder.path("decoders")) {
            if (usesByteLevel(d)) {
                return true;
            }
        }
        return false;
    }

    static byte[] byteLevel(String token, int[] unicodeToByte) {
        byte[] b = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int v = c < unicodeToByte.length ? unicodeToByte[c] : -1;
            if (v < 0) {
                return token.getBytes(StandardCharsets.UTF_8); // not a byte-level symbol: take it literally
            }
            b[i] = (byte) v;
        }
        return b;
    }

    static byte[] sentencePiece(String token) {
        if (token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(token.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // an ordinary token that looks like one
            }
        }
        return token.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
    }

    /** The inverse of GPT-2's {@code bytes_to_unicode}. */
    static int[] unicodeToByte() {
        int[] inv = new int[512];
        java.util.Arrays.fill(inv, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean direct = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            inv[direct ? b : 256 + n++] = b;
        }
        return inv;
    }
}
