package dev.tandem.engine;

import dev.tandem.TestModels;
import dev.tandem.engine.model.ModelConfig;
import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.weights.WeightsException;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.modelgen.TinyModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.tandem.config.ComputeBackendKind.SCALAR;
import static dev.tandem.config.ComputeBackendKind.VECTOR;
import static dev.tandem.engine.EngineFixture.maxAbsDiff;
import static dev.tandem.engine.EngineFixture.tokens;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigTest {

    @Test
    void readsTheTinyModel() {
        ModelConfig c = ModelConfig.load(TestModels.tiny());
        assertEquals("LlamaForCausalLM", c.architecture());
        assertEquals(128, c.hiddenSize());
        assertEquals(4, c.numHeads());
        assertEquals(2, c.numKvHeads());
        assertEquals(32, c.headDim());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.qkvBias());
        assertNull(c.ropeScaling());
        assertEquals(List.of(509, 511), c.eosTokenIds(), "generation_config.json's list wins over config.json");
        assertEquals(508, c.bosTokenId());
    }

    @Test
    void readsLlama3RopeScalingMistralAndDefaults(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["MistralForCausalLM"], "hidden_size": 256, "intermediate_size": 512,
                 "num_hidden_layers": 2, "num_attention_heads": 8, "vocab_size": 1000,
                 "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "eos_token_id": 2,
                 "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
                """);
        ModelConfig c = ModelConfig.load(dir);
        assertEquals(8, c.numKvHeads(), "num_key_value_heads defaults to the head count");
        assertEquals(32, c.headDim(), "head_dim defaults to hidden / heads");
        assertEquals(10000f, c.ropeTheta());
        assertEquals(new ModelConfig.RopeScaling(8, 1, 4, 8192), c.ropeScaling());
        assertEquals(List.of(2), c.eosTokenIds());
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"llama3\"", "\"yarn\""));
        assertEquals("config.json: field 'rope_scaling.rope_type' is 'yarn'; supported: llama3, default",
                assertThrows(WeightsException.class, () -> ModelConfig.load(dir)).getMessage());
    }

    @Test
    void qwen2BiasesAreLoadedAndUsedAlike() {
        Path qwen = TestModels.make("tiny-qwen2", new TinyModelWriter.Options(TinyModelWriter.Preset.TINY, 7,
                DType.BF16, 1, "qwen2"));
        ModelConfig c = ModelConfig.load(qwen);
        assertEquals("Qwen2ForCausalLM", c.architecture());
        assertTrue(c.qkvBias());
        int[] seq = tokens(20, 3);
        float[][] s;
        float[][] v;
        try (EngineFixture f = new EngineFixture(SCALAR, qwen); PagedKvCache kv = f.cache(16, 128)) {
            s = f.prefill(kv, seq, 0);
        }
        try (EngineFixture f = new EngineFixture(VECTOR, qwen); PagedKvCache kv = f.cache(16, 128)) {
            v = f.prefill(kv, seq, 0);
        }
        float[][] llama;
        try (EngineFixture f = new EngineFixture(VECTOR); PagedKvCache kv = f.cache(16, 128)) {
            llama = f.prefill(kv, seq, 0);
        }
        for (int i = 0; i < seq.length; i++) {
            assertTrue(maxAbsDiff(s[i], v[i]) < 2e-4f, "token " + i);
        }
        // Same seed, same weights except the biases: the biases change the result.
        assertTrue(maxAbsDiff(llama[5], v[5]) > 1e-2f);
    }
}
