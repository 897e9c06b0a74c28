package dev.tandem.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model's Hugging Face {@code tokenizer.json} through DJL's binding of the {@code tokenizers} library, plus the
 * special tokens and chat template of {@code tokenizer_config.json}. Owns a native handle: {@link #close()} frees it.
 * Encoding and decoding are thread-safe.
 */
public final class TextTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer hf;
    private final ChatTemplate chatTemplate;
    private final String bosToken;
    private final String eosToken;
    /** The decoder as bytes per id, or null when it is not one {@link DecodeTable} models. */
    private final DecodeTable decodeTable;

    private TextTokenizer(HuggingFaceTokenizer hf, ChatTemplate chatTemplate, String bosToken, String eosToken,
                          DecodeTable decodeTable) {
        this.hf = hf;
        this.decodeTable = decodeTable;
        this.chatTemplate = chatTemplate;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /** Loads {@code dir/tokenizer.json} and, when present, {@code dir/tokenizer_config.json}. */
    public static TextTokenizer load(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            throw new TokenizerException("tokenizer.json: not found in " + dir);
        }
        HuggingFaceTokenizer hf;
        try {
            // No truncation, no padding: the server checks lengths itself and reports them.
            hf = HuggingFaceTokenizer.newInstance(json, Map.of("truncation", "false", "padding", "false",
                    "maxLength", "-1", "addSpecialTokens", "true"));
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException("tokenizer.json: cannot load (" + e.getMessage() + ")", e);
        }
        Path cfgPath = dir.resolve("tokenizer_config.json");
        ChatTemplate template = null;
        String bos = null;
        String eos = null;
        if (Files.isRegularFile(cfgPath)) {
            JsonNode cfg;
            try {
                cfg = new ObjectMapper().readTree(cfgPath.toFile());
            } catch (IOException e) {
                hf.close();
                throw new TokenizerException("tokenizer_config.json: not valid JSON (" + e.getMessage() + ")", e);
            }
            bos = tokenText(cfg.get("bos_token"));
            eos = tokenText(cfg.get("eos_token"));
            String source = templateSource(cfg.get("chat_template"));
            if (source != null) {
                template = new ChatTemplate(source, bos, eos);
            }
        }
        return new TextTokenizer(hf, template, bos, eos, decodeTable(json));
    }

    /** The byte table of {@code json}'s decoder, or null (the library then decodes: see {@link WindowDecoder}). */
    private static DecodeTable decodeTable(Path json) {
        try {
            return DecodeTable.of(new ObjectMapper().readTree(json.toFile()));
        } catch (IOException e) {
            return null; // the library read it; whatever it accepts and Jackson does not is decoded by the library
        }
    }

    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        return n.isObject() ? n.path("content").asText(null) : n.asText();
    }

    /** {@code chat_template} is a string, or a list of {name, template} where "default" wins. */
    private static String templateSource(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isArray()) {
            for (JsonNode t : n) {
                if ("default".equals(t.path("name").asText())) {
                    return t.path("template").asText();
                }
            }
            return n.isEmpty() ? null : n.get(0).path("template").asText(null);
        }
        throw new TokenizerException("tokenizer_config.json: field 'chat_template' must be a string or a list, got "
                + n.getNodeType());
    }

    /** Token ids of {@code text}; {@code addSpecialTokens} applies the tokenizer's post-processor (e.g. BOS). */
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = hf.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return hf.decode(l, skipSpecialTokens);
    }

    /**
     * A decoder that turns a growing list of output ids into text deltas, holding back incomplete characters:
     * allocation-free over the token bytes when the decoder is one {@link DecodeTable} models (byte-level BPE,
     * SentencePiece with byte fallback), else through the library.
     */
    public IncrementalDecoder incrementalDecoder(boolean skipSpecialTokens) {
        return decodeTable != null ? new ByteDecoder(decodeTable, skipSpecialTokens)
                : new WindowDecoder(this, skipSpecialTokens);
    }

    /** Whether {@link #incrementalDecoder} decodes over token bytes (else through the library). */
    public boolean decodesBytes() {
        return decodeTable != null;
    }

    /** The model's chat template, or null when tokenizer_config.json has none. */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    @Override
    public void close() {
        hf.close();
    }
}
