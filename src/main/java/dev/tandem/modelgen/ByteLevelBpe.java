package dev.tandem.modelgen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds a GPT-2 style byte-level BPE {@code tokenizer.json} of an exact vocabulary size: the 256 byte tokens, merges
 * learned from a small built-in English corpus, then (for large vocabularies) deterministic filler merges, and the
 * special tokens at the top ids. The result is a normal Hugging Face tokenizer that any {@code tokenizers} runtime
 * loads.
 */
public final class ByteLevelBpe {
    public static final String BOS = "<|begin_of_text|>";
    public static final String EOS = "<|end_of_text|>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";
    public static final List<String> SPECIALS = List.of(BOS, EOS, IM_START, IM_END);

    private static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    private static final String LETTERS = "etaoinshrdlcumwfgypbvkjxqz";

    private final Map<String, Integer> vocab = new LinkedHashMap<>();
    private final List<String[]> merges = new ArrayList<>();
    private final int vocabSize;

    private ByteLevelBpe(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    /** A tokenizer with exactly {@code vocabSize} ids; the special tokens take the last four. */
    public static ByteLevelBpe build(int vocabSize) {
        if (vocabSize < 256 + SPECIALS.size()) {
            throw new IllegalArgumentException("vocab_size " + vocabSize + " is below the 260 byte and special tokens");
        }
        ByteLevelBpe bpe = new ByteLevelBpe(vocabSize);
        char[] byteChar = bytesToUnicode();
        for (int b = 0; b < 256; b++) {
            bpe.vocab.put(String.valueOf(byteChar[b]), b);
        }
        int mergeBudget = vocabSize - 256 - SPECIALS.size();
        bpe.learn(Corpus.TEXT, byteChar, mergeBudget);
        bpe.fill(byteChar, mergeBudget);
        return bpe;
    }

    public int specialId(String token) {
        return vocabSize - SPECIALS.size() + SPECIALS.indexOf(token);
    }

    /** GPT-2's reversible map from bytes to printable characters. */
    static char[] bytesToUnicode() {
        char[] map = new char[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            direct[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            direct[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            direct[b] = true;
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            map[b] = direct[b] ? (char) b : (char) (256 + n++);
        }
        return map;
    }

    /** Classic BPE training: merge the most frequent adjacent pair (ties: the smaller pair) until budget or pairs run out. */
    private void learn(String corpus, char[] byteChar, int budget) {
        Map<List<String>, Integer> words = new HashMap<>();
        Matcher m = GPT2_SPLIT.matcher(corpus);
        while (m.find()) {
            List<String> symbols = new ArrayList<>();
            for (byte b : m.group().getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                symbols.add(String.valueOf(byteChar[b & 0xFF]));
            }
            words.merge(symbols, 1, Integer::sum);
        }
        while (merges.size() < budget) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (Map.Entry<List<String>, Integer> w : words.entrySet()) {
                List<String> s = w.getKey();
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairCounts.merge(s.get(i) + "\u0000" + s.get(i + 1), w.getValue(), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 1;
            for (Map.Entry<String, Integer> p : pairCounts.entrySet()) {
                if (p.getValue() > bestCount || (p.getValue() == bestCount && best != null && p.getKey().compareTo(best) < 0)) {
                    best = p.getKey();
                    bestCount = p.getValue();
                }
            }
            if (best == null) {
                return;
            }
            String[] pair = best.split("\u0000", 2);
            String joined = pair[0] + pair[1];
            if (!vocab.containsKey(joined)) {
                addMerge(pair[0], pair[1]);
            }
            Map<List<String>, Integer> next = new HashMap<>();
            for (Map.Entry<List<String>, Integer> w : words.entrySet()) {
                next.merge(applyMerge(w.getKey(), pair[0], pair[1]), w.getValue(), Integer::sum);
            }
            words = next;
        }
    }

    private static List<String> applyMerge(List<String> s, String a, String b) {
        List<String> out = new ArrayList<>(s.size());
        for (int i = 0; i < s.size(); i++) {
            if (i + 1 < s.size() && s.get(i).equals(a) && s.get(i + 1).equals(b)) {
                out.add(a + b);
                i++;
            } else {
                out.add(s.get(i));
            }
        }
        return out;
    }

    /** Deterministic filler: extend existing tokens by one letter until the vocabulary is full. */
    private void fill(char[] byteChar, int budget) {
        int cursor = 256;
        while (merges.size() < budget) {
            List<String> tokens = new ArrayList<>(vocab.keySet());
            if (cursor >= tokens.size()) {
                cursor = 0;
            }
            String a = tokens.get(cursor++);
            for (int i = 0; i < LETTERS.length() && merges.size() < budget; i++) {
                String b = String.valueOf(byteChar[LETTERS.charAt(i)]);
                if (!vocab.containsKey(a + b)) {
                    addMerge(a, b);
                }
            }
        }
    }

    private void addMerge(String a, String b) {
        merges.add(new String[] {a, b});
        vocab.put(a + b, vocab.size());
    }

    /** The {@code tokenizer.json} document: byte-level pre-tokenizer and decoder, BPE model, BOS post-processor. */
    public String toJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : SPECIALS) {
            added.addObject().put("id", specialId(s)).put("content", s).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode st = post.putObject("special_tokens").putObject(BOS);
        st.put("id", BOS);
        st.putArray("ids").add(specialId(BOS));
        st.putArray("tokens").add(BOS);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").putNull("continuing_subword_prefix")
                .putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", false)
                .put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        for (String s : SPECIALS) {
            v.put(s, specialId(s));
        }
        ArrayNode m = model.putArray("merges");
        for (String[] p : merges) {
            m.add(p[0] + " " + p[1]);
        }
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public int mergeCount() {
        return merges.size();
    }
}
