package dev.tandem.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Map;

/**
 * What a {@code tokenizer.json}'s decoder makes of token ids, as the bytes of each id plus the few rules its
 * decoders apply to the whole text, for the decoders this class models exactly; {@link #of} gives null for any
 * other (the caller then decodes through the library). Modelled, as the {@code tokenizers} library runs them:
 * <ul>
 *   <li>{@code ByteLevel} (GPT-2, Llama 3, Qwen, SmolLM): every token, added ones included, maps its characters back
 *   through GPT-2's byte table (taken literally if one is not in it); the bytes of all tokens are then read as
 *   UTF-8 with {@code String::from_utf8_lossy} (one U+FFFD per maximal invalid subsequence);</li>
 *   <li>the SentencePiece chain {@code Replace(▁ → ' ')}, {@code ByteFallback}, {@code Fuse}, optionally
 *   {@code Strip(c, n, 0)} (Llama 2, Mistral): U+2581 is a space, a {@code <0xAB>} token is one byte, a run of
 *   consecutive byte tokens that is not valid UTF-8 becomes one U+FFFD per byte token, and up to {@code n} leading
 *   {@code c} are cut from the whole text.</li>
 * </ul>
 * Ids the tokenizer does not know decode to nothing, as in the library. Immutable; shared by every decoder of one
 * tokenizer.
 */
final class DecodeTable {
    /** Per id: the bytes it decodes to, or null for an id the tokenizer does not have. */
    final byte[][] bytes;
    /** Per id: a special added token, which {@code skip_special_tokens} drops. */
    final boolean[] special;
    /** Per id: a {@code <0xAB>} byte token (SentencePiece chain only). */
    final boolean[] byteToken;
    /** The SentencePiece chain's rule for invalid UTF-8: one U+FFFD per byte token of a failed run. */
    final boolean perByteToken;
    /** Leading characters {@code stripChar} the {@code Strip} decoder cuts from the whole text (0: none). */
    final int stripLeading;
    final char stripChar;

    private DecodeTable(int size, boolean perByteToken, int stripLeading, char stripChar) {
        this.bytes = new byte[size][];
        this.special = new boolean[size];
        this.byteToken = new boolean[size];
        this.perByteToken = perByteToken;
        this.stripLeading = stripLeading;
        this.stripChar = stripChar;
    }

    /** The table of the parsed {@code tokenizer.json} {@code t}, or null when its decoder is not one modelled here. */
    static DecodeTable of(JsonNode t) {
        JsonNode vocab = t.path("model").path("vocab");
        JsonNode decoder = t.path("decoder");
        if (!vocab.isObject()) {
            return null;
        }
        boolean byteLevel = "ByteLevel".equals(decoder.path("type").asText());
        int strip = sentencePieceStrip(decoder);
        if (!byteLevel && strip < 0) {
            return null;
        }
        int max = -1;
        for (JsonNode id : vocab) {
            max = Math.max(max, id.asInt());
        }
        for (JsonNode a : t.path("added_tokens")) {
            max = Math.max(max, a.path("id").asInt());
        }
        JsonNode stripNode = byteLevel ? null : decoder.path("decoders").get(3);
        char stripChar = stripNode == null ? ' ' : stripNode.path("content").asText(" ").charAt(0);
        DecodeTable d = new DecodeTable(max + 1, !byteLevel, Math.max(strip, 0), stripChar);
        int[] unicodeToByte = byteLevel ? TokenBytes.unicodeToByte() : null;
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            d.put(e.getValue().asInt(), e.getKey(), unicodeToByte);
        }
        // Added tokens go through the decoder like any other (measured against the library); special ones can be
        // skipped.
        for (JsonNode a : t.path("added_tokens")) {
            int id = a.path("id").asInt();
            d.put(id, a.path("content").asText(), unicodeToByte);
            d.special[id] = a.path("special").asBoolean(false);
        }
        return d;
    }

    private void put(int id, String token, int[] unicodeToByte) {
        if (id < 0) {
            return;
        }
        if (unicodeToByte != null) {
            bytes[id] = TokenBytes.byteLevel(token, unicodeToByte);
        } else {
            bytes[id] = TokenBytes.sentencePiece(token);
            byteToken[id] = isByteToken(token);
        }
    }

    /** As the {@code ByteFallback} decoder tells a byte token: {@code <0x} two hex digits {@code >}. */
    private static boolean isByteToken(String token) {
        return token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")
                && Character.digit(token.charAt(3), 16) >= 0 && Character.digit(token.charAt(4), 16) >= 0;
    }

    /**
     * For the chain {@code Replace(▁, ' '), ByteFallback, Fuse[, Strip(c, n, 0)]}: n (0 without Strip); -1 for any
     * other decoder.
     */
    private static int sentencePieceStrip(JsonNode decoder) {
        JsonNode ds = decoder.path("decoders");
        if (!"Sequence".equals(decoder.path("type").asText()) || !ds.isArray() || ds.size() < 3 || ds.size() > 4) {
            return -1;
        }
        JsonNode replace = ds.get(0);
        if (!"Replace".equals(replace.path("type").asText())
                || !"\u2581".equals(replace.path("pattern").path("String").asText(null))
                || !" ".equals(replace.path("content").asText(null))
                || !"ByteFallback".equals(ds.get(1).path("type").asText())
                || !"Fuse".equals(ds.get(2).path("type").asText())) {
            return -1;
        }
        if (ds.size() == 3) {
            return 0;
        }
        JsonNode strip = ds.get(3);
        if (!"Strip".equals(strip.path("type").asText()) || strip.path("stop").asInt(-1) != 0
                || strip.path("content").asText("").length() != 1 || strip.path("start").asInt(-1) < 0) {
            return -1;
        }
        return strip.path("start").asInt();
    }
}
