package dev.tandem.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.engine.weights.WeightsException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The architecture of a decoder-only Llama-family model, read from a Hugging Face {@code config.json}
 * (+ {@code generation_config.json} for EOS ids). Validated here; every error names the file and the field.
 *
 * @param architecture      {@code LlamaForCausalLM}, {@code Qwen2ForCausalLM} or {@code MistralForCausalLM}
 * @param hiddenSize        model width (dim)
 * @param intermediateSize  SwiGLU hidden width
 * @param numLayers         transformer blocks
 * @param numHeads          query heads
 * @param numKvHeads        key/value heads (GQA when fewer than {@code numHeads})
 * @param headDim           width of one head
 * @param rmsNormEps        epsilon of every RMSNorm
 * @param ropeTheta         RoPE base
 * @param ropeScaling       {@code rope_scaling} of type llama3, or null
 * @param tieWordEmbeddings whether the LM head reuses the embedding matrix
 * @param vocabSize         rows of the embedding matrix
 * @param maxPositions      {@code max_position_embeddings}
 * @param qkvBias           whether q/k/v projections have a bias (Qwen2 always; Llama's {@code attention_bias})
 * @param eosTokenIds       end-of-sequence ids (generation_config.json first, then config.json)
 * @param bosTokenId        begin-of-sequence id, or -1
 */
public record ModelConfig(String architecture, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                          int numKvHeads, int headDim, float rmsNormEps, float ropeTheta, RopeScaling ropeScaling,
                          boolean tieWordEmbeddings, int vocabSize, int maxPositions, boolean qkvBias,
                          List<Integer> eosTokenIds, int bosTokenId) {

    public static final Set<String> ARCHITECTURES = Set.of("LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM");

    /** Llama 3's frequency-dependent RoPE scaling ({@code rope_scaling.rope_type == "llama3"}). */
    public record RopeScaling(float factor, float lowFreqFactor, float highFreqFactor, int originalMaxPositions) {
    }

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        require(numHeads % numKvHeads == 0, "num_attention_heads", numHeads
                + " is not a multiple of num_key_value_heads " + numKvHeads);
        require(headDim % 2 == 0, "head_dim", headDim + " must be even for RoPE");
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    public int qDim() {
        return numHeads * headDim;
    }

    /** Reads {@code dir/config.json} and, when present, {@code dir/generation_config.json}. */
    public static ModelConfig load(Path dir) {
        JsonNode c = readJson(dir.resolve("config.json"), true);
        JsonNode gen = readJson(dir.resolve("generation_config.json"), false);
        Fields f = new Fields("config.json", c);

        String arch = architecture(c);
        int hidden = f.positiveInt("hidden_size");
        int heads = f.positiveInt("num_attention_heads");
        int kvHeads = c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull()
                ? f.positiveInt("num_key_value_heads") : heads;
        int headDim = c.has("head_dim") && !c.get("head_dim").isNull() ? f.positiveInt("head_dim") : hidden / heads;
        if (!c.has("head_dim") && hidden % heads != 0) {
            throw new WeightsException("config.json: field 'hidden_size' " + hidden
                    + " is not divisible by num_attention_heads " + heads + " and 'head_dim' is absent");
        }
        boolean qkvBias = arch.equals("Qwen2ForCausalLM") || c.path("attention_bias").asBoolean(false);
        List<Integer> eos = new ArrayList<>();
        if (gen != null && gen.has("eos_token_id")) {
            addIds(gen.get("eos_token_id"), eos, "generation_config.json", "eos_token_id");
        } else if (c.has("eos_token_id")) {
            addIds(c.get("eos_token_id"), eos, "config.json", "eos_token_id");
        }
        int bos = gen != null && gen.has("bos_token_id") && gen.get("bos_token_id").isInt()
                ? gen.get("bos_token_id").asInt() : c.path("bos_token_id").asInt(-1);
        return new ModelConfig(arch, hidden, f.positiveInt("intermediate_size"), f.positiveInt("num_hidden_layers"),
                heads, kvHeads, headDim, (float) f.positiveDouble("rms_norm_eps", 1e-6),
                (float) f.positiveDouble("rope_theta", 10000.0), ropeScaling(c.get("rope_scaling")),
                c.path("tie_word_embeddings").asBoolean(false), f.positiveInt("vocab_size"),
                f.positiveInt("max_position_embeddings"), qkvBias, eos, bos);
    }

    private static String architecture(JsonNode c) {
        JsonNode archs = c.get("architectures");
        if (archs == null || !archs.isArray() || archs.isEmpty()) {
            throw new WeightsException("config.json: missing field 'architectures' (one of " + ARCHITECTURES + ")");
        }
        String arch = archs.get(0).asText();
        if (!ARCHITECTURES.contains(arch)) {
            throw new WeightsException("config.json: field 'architectures' is " + archs
                    + "; supported: " + ARCHITECTURES);
        }
        return arch;
    }

    private static RopeScaling ropeScaling(JsonNode rs) {
        if (rs == null || rs.isNull()) {
            return null;
        }
        String type = rs.has("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText("");
        if (type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw new WeightsException("config.json: field 'rope_scaling.rope_type' is '" + type
                    + "'; supported: llama3, default");
        }
        Fields f = new Fields("config.json", rs, "rope_scaling.");
        return new RopeScaling((float) f.positiveDouble("factor", Double.NaN),
                (float) f.positiveDouble("low_freq_factor", Double.NaN),
                (float) f.positiveDouble("high_freq_factor", Double.NaN),
                f.positiveInt("original_max_position_embeddings"));
    }

    private static void addIds(JsonNode n, List<Integer> out, String file, String field) {
        if (n.isInt()) {
            out.add(n.asInt());
        } else if (n.isArray()) {
            n.forEach(x -> {
                if (!x.isInt()) {
                    throw new WeightsException(file + ": field '" + field + "' holds non-integer " + x);
                }
                out.add(x.asInt());
            });
        } else if (!n.isNull()) {
            throw new WeightsException(file + ": field '" + field + "' must be an integer or a list, got " + n);
        }
    }

    private static JsonNode readJson(Path p, boolean required) {
        if (!Files.isRegularFile(p)) {
            if (required) {
                throw new WeightsException(p.getFileName() + ": not found in " + p.getParent());
            }
            return null;
        }
        try {
            return new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new WeightsException(p.getFileName() + ": not valid JSON (" + e.getMessage() + ")", e);
        }
    }

    private static void require(boolean ok, String field, String message) {
        if (!ok) {
            throw new WeightsException("config.json: field '" + field + "' " + message);
        }
    }

    /** Typed access to required numeric fields with errors that name the file and the field. */
    private record Fields(String file, JsonNode node, String prefix) {
        Fields(String file, JsonNode node) {
            this(file, node, "");
        }

        int positiveInt(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                throw new WeightsException(file + ": missing field '" + prefix + field + "'");
            }
            if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0) {
                throw new WeightsException(file + ": field '" + prefix + field + "' must be a positive integer, got " + v);
            }
            return v.asInt();
        }

        double positiveDouble(String field, double dflt) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                if (Double.isNaN(dflt)) {
                    throw new WeightsException(file + ": missing field '" + prefix + field + "'");
                }
                return dflt;
            }
            if (!v.isNumber() || v.asDouble() <= 0) {
                throw new WeightsException(file + ": field '" + prefix + field + "' must be a positive number, got " + v);
            }
            return v.asDouble();
        }
    }
}
