package dev.tandem.engine.compute;

import dev.tandem.config.ComputeBackendKind;
import dev.tandem.config.Quantization;
import dev.tandem.TestModels;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;
import dev.tandem.engine.weights.SafetensorsWriter;
import dev.tandem.engine.weights.WeightStore;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.tandem.config.ComputeBackendKind.SCALAR;
import static dev.tandem.config.ComputeBackendKind.VECTOR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --quantization int8} is checked against a float64 reference that applies the same rounding (each weight
 * replaced by {@code code · scale}), never against the unquantized output: the kernel on odd shapes, and the whole
 * model against the scalar backend running a checkpoint of the dequantized weights.
 */
class Int8QuantizationTest {

    @Test
    void kernelMatchesTheDequantizedReferenceAndDoesNotDependOnTheBatch() {
        // Four panels (two-panel tiles, the last one partial) and three (a lone last panel: the one-panel kernel).
        kernelMatchesAndDoesNotDependOnTheBatch(3 * VectorBackend.lanes() + 5);
        kernelMatchesAndDoesNotDependOnTheBatch(2 * VectorBackend.lanes() + 5);
    }

    private static void kernelMatchesAndDoesNotDependOnTheBatch(int rows) {
        int in = 46;
        try (Arena arena = Arena.ofConfined(); VectorBackend backend = new VectorBackend(2, Quantization.INT8)) {
            SplittableRandom r = new SplittableRandom(5);
            MemorySegment seg = arena.allocate(4L * rows * in);
            for (long i = 0; i < (long) rows * in; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian() * (1 + i % 7));
            }
            Tensor w = new Tensor("w", DType.F32, new long[] {rows, in}, seg);
            backend.prepare(w);
            assertTrue(backend.packed(w), "the int8 kernels compute this matmul");
            int maxTokens = 9;
            float[] x = new float[maxTokens * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            float[] all = new float[maxTokens * rows];
            backend.matmul(w, x, maxTokens, all);
            for (int o = 0; o < rows; o++) {
                float scale = Int8Panels.scaleOf(w, o);
                for (int t = 0; t < maxTokens; t++) {
                    double ref = 0;
                    for (int k = 0; k < in; k++) {
                        ref += (double) x[t * in + k] * (Int8Panels.code(w.get((long) o * in + k), scale) * scale);
                    }
                    assertEquals(ref, all[t * rows + o], 1e-4 * Math.max(1, Math.abs(ref)), "token " + t + ", row " + o);
                }
            }
            for (int tokens : new int[] {1, 2, 3, 4, 5, 6, 7}) {
                float[] some = new float[tokens * rows];
                backend.matmul(w, x, tokens, some);
                for (int i = 0; i < some.length; i++) {
                    assertEquals(Float.floatToRawIntBits(all[i]), Float.floatToRawIntBits(some[i]),
                            "output " + i + " in a batch of " + tokens);
                }
            }
        }
    }

    @Test
    void modelLogitsMatchTheScalarReferenceOnDequantizedWeights(@TempDir Path tmp) throws IOException {
        Path tiny = TestModels.tiny();
        Path deq = tmp.resolve("tiny-int8-dequantized");
        Files.createDirectories(deq);
        for (String f : new String[] {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(tiny.resolve(f), deq.resolve(f));
        }
        try (WeightStore ws = WeightStore.open(tiny, m -> { })) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : ws.tensors().entrySet()) {
                Tensor t = e.getValue();
                boolean linear = e.getKey().endsWith("_proj.weight") || e.getKey().equals("lm_head.weight");
                entries.add(new SafetensorsWriter.Entry(e.getKey(), DType.F32, t.shape(),
                        linear ? dequantized(t) : (from, out) -> t.toFloats(from, out, 0, out.length)));
            }
            if (!ws.contains("lm_head.weight")) { // tied: the LM head is the quantized embedding, lookups are not
                Tensor embed = ws.tensors().get("model.embed_tokens.weight");
                entries.add(new SafetensorsWriter.Entry("lm_head.weight", DType.F32, embed.shape(), dequantized(embed)));
            }
            SafetensorsWriter.write(deq.resolve("model.safetensors"), entries);
        }
        int[] prompt = new int[48];
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = r.nextInt(500);
        }
        float[][] ref = logits(SCALAR, Quantization.NONE, deq, prompt);
        float[][] got = logits(VECTOR, Quantization.INT8, tiny, prompt);
        float worst = 0;
        for (int i = 0; i < prompt.length; i++) {
            for (int v = 0; v < ref[i].length; v++) {
                worst = Math.max(worst, Math.abs(ref[i][v] - got[i][v]));
            }
            assertEquals(Logprobs.argmax(ref[i]), Logprobs.argmax(got[i]), "argmax at token " + i);
        }
        assertTrue(worst < 2e-4f, "max |logit diff| int8 vs dequantized float64 reference: " + worst);
        // And the quantization is real: the unquantized model gives measurably different logits.
        float[][] bf16 = logits(VECTOR, Quantization.NONE, tiny, prompt);
        float apart = 0;
        for (int v = 0; v < bf16[0].length; v++) {
            apart = Math.max(apart, Math.abs(bf16[0][v] - got[0][v]));
        }
        assertTrue(apart > 1e-3f, "int8 logits equal the BF16 ones (" + apart + "): nothing was quantized");
        assertArrayEquals(got[0], logits(VECTOR, Quantization.INT8, tiny, new int[] {prompt[0]})[0],
                "a one-token prompt gives the same first row");
    }

    private static SafetensorsWriter.Source dequantized(Tensor t) {
        int in = t.cols();
        return (from, out) -> {
            for (int i = 0; i < out.length; i++) {
                long idx = from + i;
                int o = (int) (idx / in);
                float scale = Int8Panels.scaleOf(t, o);
                out[i] = Int8Panels.code(t.get(idx), scale) * scale;
            }
        };
    }

    private static float[][] logits(ComputeBackendKind backendName, Quantization q, Path dir, int[] prompt) {
        try (ComputeBackend b = ComputeBackends.create(backendName, 2, q);
             Model m = Model.load(dir, b, s -> { });
             PagedKvCache kv = m.newKvCache(16, 256, 2, 256)) {
            int row = kv.allocateRow();
            assertTrue(kv.ensureCapacity(row, prompt.length));
            ForwardOutput out = m.transformer().forward(List.of(new SequenceChunk(row, 0, prompt, 0)), kv);
            float[][] rows = new float[prompt.length][];
            for (int i = 0; i < prompt.length; i++) {
                rows[i] = out.row(0, i);
            }
            kv.release(row);
            return rows;
        }
    }
}
