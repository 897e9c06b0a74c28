package dev.tandem.modelgen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.weights.SafetensorsWriter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a complete Hugging Face model directory with deterministic random weights: config.json,
 * generation_config.json, safetensors (one file or shards with an index), tokenizer.json and tokenizer_config.json
 * with a ChatML template. Every weight value depends only on (seed, tensor name, index), so the same seed gives the
 * same model whatever the dtype or the sharding; values are rounded to bfloat16 and kept inside float16's normal
 * range, so F32, F16 and BF16 copies hold exactly the same numbers.
 */
public final class TinyModelWriter {
    /** Shapes of the generated models. */
    public enum Preset {
        /** A few MB: tests. 4 layers, GQA 4:2. */
        TINY(128, 384, 4, 4, 2, 512, 2048),
        /** A few MB with the bench preset's head size (64): the attention kernels a 64-wide head takes. GQA 4:2. */
        HEAD64(256, 512, 2, 4, 2, 512, 2048),
        /** The shape of a ~135M-parameter Llama (SmolLM-135M): benchmarks. */
        BENCH(576, 1536, 30, 9, 3, 49152, 2048);

        final int hidden;
        final int intermediate;
        final int layers;
        final int heads;
        final int kvHeads;
        final int vocab;
        final int maxPositions;

        Preset(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, int maxPositions) {
            this.hidden = hidden;
            this.intermediate = intermediate;
            this.layers = layers;
            this.heads = heads;
            this.kvHeads = kvHeads;
            this.vocab = vocab;
            this.maxPositions = maxPositions;
        }
    }

    /** What to write. {@code arch} is "llama" or "qwen2" (adds q/k/v biases); {@code shards} ≥ 1. */
    public record Options(Preset preset, long seed, DType dtype, int shards, String arch) {
        public Options {
            if (shards < 1) {
                throw new IllegalArgumentException("--shards must be >= 1, got " + shards);
            }
            if (!arch.equals("llama") && !arch.equals("qwen2")) {
                throw new IllegalArgumentException("--arch must be llama or qwen2, got '" + arch + "'");
            }
        }

        public static Options of(Preset preset, long seed) {
            return new Options(preset, seed, DType.BF16, 1, "llama");
        }
    }

    private static final float F16_MIN_NORMAL = 0x1p-14f;

    private TinyModelWriter() {
    }

    public static void write(Path dir, Options o) throws IOException {
        Files.createDirectories(dir);
        Preset p = o.preset();
        ByteLevelBpe bpe = ByteLevelBpe.build(p.vocab);
        writeConfig(dir, o, bpe);
        Files.writeString(dir.resolve("tokenizer.json"), bpe.toJson(), StandardCharsets.UTF_8);
        writeTokenizerConfig(dir);
        List<SafetensorsWriter.Entry> tensors = tensors(o);
        if (o.shards() == 1) {
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors);
            return;
        }
        writeShards(dir, o, tensors);
    }

    private static List<SafetensorsWriter.Entry> tensors(Options o) {
        Preset p = o.preset();
        int headDim = p.hidden / p.heads;
        int q = p.heads * headDim;
        int kv = p.kvHeads * headDim;
        List<SafetensorsWriter.Entry> t = new ArrayList<>();
        t.add(gaussian(o, "model.embed_tokens.weight", 0.35f, 0f, p.vocab, p.hidden));
        for (int l = 0; l < p.layers; l++) {
            String pre = "model.layers." + l + ".";
            t.add(gaussian(o, pre + "input_layernorm.weight", 0.1f, 1f, p.hidden));
            t.add(linear(o, pre + "self_attn.q_proj.weight", q, p.hidden));
            t.add(linear(o, pre + "self_attn.k_proj.weight", kv, p.hidden));
            t.add(linear(o, pre + "self_attn.v_proj.weight", kv, p.hidden));
            if (o.arch().equals("qwen2")) {
                t.add(gaussian(o, pre + "self_attn.q_proj.bias", 0.1f, 0f, q));
                t.add(gaussian(o, pre + "self_attn.k_proj.bias", 0.1f, 0f, kv));
                t.add(gaussian(o, pre + "self_attn.v_proj.bias", 0.1f, 0f, kv));
            }
            t.add(linear(o, pre + "self_attn.o_proj.weight", p.hidden, q));
            t.add(gaussian(o, pre + "post_attention_layernorm.weight", 0.1f, 1f, p.hidden));
            t.add(linear(o, pre + "mlp.gate_proj.weight", p.intermediate, p.hidden));
            t.add(linear(o, pre + "mlp.up_proj.weight", p.intermediate, p.hidden));
            t.add(linear(o, pre + "mlp.down_proj.weight", p.hidden, p.intermediate));
        }
        t.add(gaussian(o, "model.norm.weight", 0.1f, 1f, p.hidden));
        return t;
    }

    /** A linear layer (out, in) with std 1/sqrt(in), which keeps activations at unit scale. */
    private static SafetensorsWriter.Entry linear(Options o, String name, int out, int in) {
        return gaussian(o, name, (float) (1.0 / Math.sqrt(in)), 0f, out, in);
    }

    private static SafetensorsWriter.Entry gaussian(Options o, String name, float std, float mean, long... shape) {
        long tensorSeed = o.seed() * 0x9E3779B97F4A7C15L ^ name.hashCode();
        return new SafetensorsWriter.Entry(name, o.dtype(), shape, (from, out) -> {
            // Each 4096-element block has its own stream, so any range can be produced independently.
            for (int i = 0; i < out.length; ) {
                long idx = from + i;
                long block = idx >>> 12;
                SplittableRandom r = new SplittableRandom(tensorSeed + block * 0xBF58476D1CE4E5B9L);
                for (long skip = block << 12; skip < idx; skip++) {
                    r.nextGaussian();
                }
                long blockEnd = (block + 1) << 12;
                for (; i < out.length && from + i < blockEnd; i++) {
                    out[i] = representable(mean + std * (float) r.nextGaussian());
                }
            }
        });
    }

    /** Rounded to bfloat16 and flushed to zero below float16's normal range: exact in F32, F16 and BF16. */
    private static float representable(float v) {
        float b = DType.bf16ToFloat(DType.floatToBf16(v));
        return Math.abs(b) < F16_MIN_NORMAL ? 0f : b;
    }

    private static void writeShards(Path dir, Options o, List<SafetensorsWriter.Entry> tensors) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        long total = 0;
        ObjectNode map = json.createObjectNode();
        int n = o.shards();
        for (int s = 0; s < n; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, n);
            List<SafetensorsWriter.Entry> part = new ArrayList<>();
            for (int i = s; i < tensors.size(); i += n) {
                SafetensorsWriter.Entry e = tensors.get(i);
                part.add(e);
                map.put(e.name(), file);
                long numel = 1;
                for (long d : e.shape()) {
                    numel *= d;
                }
                total += numel * e.dtype().bytes();
            }
            SafetensorsWriter.write(dir.resolve(file), part);
        }
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", map);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
    }

    private static void writeConfig(Path dir, Options o, ByteLevelBpe bpe) throws IOException {
        Preset p = o.preset();
        ObjectMapper json = new ObjectMapper();
        boolean qwen = o.arch().equals("qwen2");
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add(qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
        c.put("model_type", qwen ? "qwen2" : "llama");
        c.put("hidden_size", p.hidden);
        c.put("intermediate_size", p.intermediate);
        c.put("num_hidden_layers", p.layers);
        c.put("num_attention_heads", p.heads);
        c.put("num_key_value_heads", p.kvHeads);
        c.put("head_dim", p.hidden / p.heads);
        c.put("hidden_act", "silu");
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.putNull("rope_scaling");
        c.put("tie_word_embeddings", true);
        c.put("attention_bias", false);
        c.put("vocab_size", p.vocab);
        c.put("max_position_embeddings", p.maxPositions);
        c.put("bos_token_id", bpe.specialId(ByteLevelBpe.BOS));
        c.put("eos_token_id", bpe.specialId(ByteLevelBpe.EOS));
        c.put("torch_dtype", switch (o.dtype()) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
        });
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), c);

        ObjectNode g = json.createObjectNode();
        g.put("bos_token_id", bpe.specialId(ByteLevelBpe.BOS));
        g.putArray("eos_token_id").add(bpe.specialId(ByteLevelBpe.EOS)).add(bpe.specialId(ByteLevelBpe.IM_END));
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("generation_config.json").toFile(), g);
    }

    private static void writeTokenizerConfig(Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode t = json.createObjectNode();
        t.put("tokenizer_class", "PreTrainedTokenizerFast");
        t.put("bos_token", ByteLevelBpe.BOS);
        t.put("eos_token", ByteLevelBpe.IM_END);
        t.put("add_bos_token", true);
        t.put("model_max_length", 2048);
        t.put("chat_template", "{% for message in messages %}"
                + "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
                + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), t);
    }
}
