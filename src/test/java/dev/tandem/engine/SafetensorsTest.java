package dev.tandem.engine;

import dev.tandem.TestModels;
import dev.tandem.engine.model.ModelConfig;
import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;
import dev.tandem.engine.weights.WeightStore;
import dev.tandem.engine.weights.WeightsException;
import dev.tandem.modelgen.TinyModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    private static final TinyModelWriter.Preset TINY = TinyModelWriter.Preset.TINY;

    @Test
    void f32F16Bf16AndShardedCopiesHoldIdenticalValues() {
        Path bf16 = TestModels.make("st-bf16", new TinyModelWriter.Options(TINY, 11, DType.BF16, 1, "llama"));
        Path f16 = TestModels.make("st-f16", new TinyModelWriter.Options(TINY, 11, DType.F16, 1, "llama"));
        Path f32 = TestModels.make("st-f32", new TinyModelWriter.Options(TINY, 11, DType.F32, 1, "llama"));
        Path sharded = TestModels.make("st-sharded", new TinyModelWriter.Options(TINY, 11, DType.BF16, 3, "llama"));
        assertTrue(Files.exists(sharded.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(sharded.resolve("model-00003-of-00003.safetensors")));
        try (WeightStore a = WeightStore.open(bf16, m -> { });
             WeightStore b = WeightStore.open(f16, m -> { });
             WeightStore c = WeightStore.open(f32, m -> { });
             WeightStore d = WeightStore.open(sharded, m -> { })) {
            assertEquals(a.tensors().keySet(), d.tensors().keySet());
            assertEquals(DType.F16, b.tensors().get("model.norm.weight").dtype());
            assertEquals(DType.F32, c.tensors().get("model.norm.weight").dtype());
            long checked = 0;
            for (Tensor t : a.tensors().values()) {
                float[] ref = t.toFloatArray();
                for (WeightStore other : new WeightStore[] {b, c, d}) {
                    float[] got = other.tensors().get(t.name()).toFloatArray();
                    assertEquals(ref.length, got.length, t.name());
                    for (int i = 0; i < ref.length; i++) {
                        if (Float.floatToIntBits(ref[i]) != Float.floatToIntBits(got[i])) {
                            throw new AssertionError(t.name() + "[" + i + "]: " + ref[i] + " vs " + got[i]);
                        }
                    }
                    checked += got.length;
                }
            }
            assertTrue(checked > 2_000_000, "compared " + checked + " values");
            // Weights stay in their stored type: BF16 bytes are half of F32's.
            assertEquals(2 * a.bytes(), c.bytes());
        }
    }

    @Test
    void truncatedFileNamesTheFileAndTheTensor(@TempDir Path tmp) throws IOException {
        Path dir = copyOf(TestModels.tiny(), tmp.resolve("truncated"));
        Path file = dir.resolve("model.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 1000);
        }
        WeightsException e = assertThrows(WeightsException.class, () -> WeightStore.open(dir, m -> { }));
        assertTrue(e.getMessage().startsWith("model.safetensors: truncated: tensor '"), e.getMessage());
        assertTrue(e.getMessage().contains("but the file holds"), e.getMessage());

        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(5);
        }
        e = assertThrows(WeightsException.class, () -> WeightStore.open(dir, m -> { }));
        assertEquals("model.safetensors: truncated: 5 bytes, no header length", e.getMessage());
    }

    @Test
    void missingTensorIsNamed() {
        try (WeightStore w = WeightStore.open(TestModels.tiny(), m -> { })) {
            WeightsException e = assertThrows(WeightsException.class,
                    () -> w.require("model.layers.9.mlp.up_proj.weight", 384, 128));
            assertEquals("missing tensor 'model.layers.9.mlp.up_proj.weight' (expected shape [384, 128]) in the "
                    + "model's safetensors", e.getMessage());
            e = assertThrows(WeightsException.class, () -> w.require("model.norm.weight", 64));
            assertEquals("model.safetensors: tensor 'model.norm.weight' has shape [128], config.json implies [64]",
                    e.getMessage());
        }
    }

    @Test
    void shardIndexNamingAMissingFileIsAnError(@TempDir Path tmp) throws IOException {
        Path sharded = TestModels.make("st-sharded", new TinyModelWriter.Options(TINY, 11, DType.BF16, 3, "llama"));
        Path dir = copyOf(sharded, tmp.resolve("sharded"));
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
        WeightsException e = assertThrows(WeightsException.class, () -> WeightStore.open(dir, m -> { }));
        assertEquals("model.safetensors.index.json: weight_map names shard 'model-00002-of-00003.safetensors', "
                + "which does not exist", e.getMessage());
    }

    @Test
    void badConfigFieldsAreNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf(TestModels.tiny(), tmp.resolve("badcfg"));
        Path cfg = dir.resolve("config.json");
        String good = Files.readString(cfg);
        Files.writeString(cfg, good.replace("\"num_hidden_layers\" : 4,", ""));
        assertEquals("config.json: missing field 'num_hidden_layers'",
                assertThrows(WeightsException.class, () -> ModelConfig.load(dir)).getMessage());
        Files.writeString(cfg, good.replace("\"hidden_size\" : 128", "\"hidden_size\" : \"wide\""));
        assertEquals("config.json: field 'hidden_size' must be a positive integer, got \"wide\"",
                assertThrows(WeightsException.class, () -> ModelConfig.load(dir)).getMessage());
        Files.writeString(cfg, good.replace("LlamaForCausalLM", "GPT2LMHeadModel"));
        assertTrue(assertThrows(WeightsException.class, () -> ModelConfig.load(dir)).getMessage()
                .startsWith("config.json: field 'architectures' is [\"GPT2LMHeadModel\"]; supported: "));
        Files.delete(cfg);
        assertTrue(assertThrows(WeightsException.class, () -> ModelConfig.load(dir)).getMessage()
                .startsWith("config.json: not found in "));
    }

    static Path copyOf(Path src, Path dst) throws IOException {
        Files.createDirectories(dst);
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) {
                Files.copy(f, dst.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return dst;
    }
}
