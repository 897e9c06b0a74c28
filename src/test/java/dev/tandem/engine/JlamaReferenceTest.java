package dev.tandem.engine;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import dev.tandem.TestModels;
import dev.tandem.config.ComputeBackendKind;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.tokenizer.TextTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cross-check against an independent implementation: Jlama's pure-Java Llama (jlama-core, Panama path, F32
 * activations over the same BF16 weights), fed the same token ids.
 */
class JlamaReferenceTest {
    private static final int STEPS = 16;
    private static final String[] PROMPTS = {
        "Hello, world! How are you today?",
        "The model is a stack of transformer layers.",
        "1, 2, 3, 10, 42 and then the question: what comes next in the list",
    };
    private static AbstractModel jlama;
    private static Path dir;

    @BeforeAll
    static void loadJlama() {
        dir = TestModels.tiny();
        // Optional.of(F32) keeps jlama's activations in F32; otherwise it rounds them to BF16 for a BF16 model.
        jlama = ModelSupport.loadModel(dir.toFile(), null, com.github.tjake.jlama.safetensors.DType.F32,
                com.github.tjake.jlama.safetensors.DType.F32, Optional.of(com.github.tjake.jlama.safetensors.DType.F32),
                Optional.empty());
    }

    @AfterAll
    static void close() {
        jlama.close();
    }

    /** Jlama's greedy run: the logits before each of {@code STEPS} tokens. */
    private static List<float[]> jlamaGreedy(int[] prompt) {
        int vocab = jlama.getConfig().vocabularySize;
        List<float[]> logits = new ArrayList<>();
        try (KvBufferCache cache = new KvBufferCache(jlama); KvBufferCache.KvBuffer kv = cache.getEphemeralKvBuffer()) {
            AbstractTensor all = jlama.batchForward(prompt, 0, kv);
            AbstractTensor hidden = all.slice(all.shape().first() - 1);
            int pos = prompt.length;
            for (int s = 0; s < STEPS; s++) {
                float[] row = new float[vocab];
                try (AbstractTensor lt = jlama.makeDenseTensor(1, vocab)) {
                    int next = jlama.sample(hidden, 0f, 0f, lt); // temperature 0: argmax, raw logits left in lt
                    for (int i = 0; i < vocab; i++) {
                        row[i] = lt.get(0, i);
                    }
                    logits.add(row);
                    hidden.close();
                    hidden = jlama.forward(next, pos++, kv, Optional.empty());
                }
            }
            hidden.close();
            all.close();
        }
        return logits;
    }

    @ParameterizedTest
    @EnumSource(ComputeBackendKind.class)
    void greedyIdsAndNextTokenProbabilitiesMatchJlama(ComputeBackendKind backend) {
        try (EngineFixture f = new EngineFixture(backend, dir); TextTokenizer tok = TextTokenizer.load(dir);
             PagedKvCache kv = f.cache(16, 512)) {
            for (String text : PROMPTS) {
                int[] prompt = tok.encode(text, true);
                List<float[]> ref = jlamaGreedy(prompt);
                int[] refIds = ref.stream().mapToInt(Logprobs::argmax).toArray();

                List<float[]> ours = new ArrayList<>();
                SamplingParams greedy = new SamplingParams(STEPS, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), true, 0);
                int row = kv.allocateRow();
                kv.ensureCapacity(row, prompt.length + STEPS);
                ForwardOutput out = f.model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 0, prompt)), kv);
                int[] ids = new int[STEPS];
                for (int s = 0; s < STEPS; s++) {
                    float[] l = out.last(0);
                    ours.add(l);
                    ids[s] = Logprobs.argmax(l);
                    out = f.model.transformer().forward(
                            List.of(SequenceChunk.lastLogits(row, prompt.length + s, ids[s])), kv);
                }
                kv.release(row);
                assertArrayEquals(refIds, ids, "greedy ids for \"" + text + "\"");
                // The generator (sampler path) produces the same ids.
                int[] viaGenerator = new Generator(f.model.transformer(), kv).generate(
                        new Generator.Request(prompt, greedy, -1, 0), f.model.config().eosTokenIds(), t -> { })
                        .outputIds();
                assertArrayEquals(refIds, viaGenerator, "generator ids for \"" + text + "\"");

                double worstProb = 0;
                double worstLogit = 0;
                for (int s = 0; s < STEPS; s++) {
                    float[] p = softmax(ours.get(s));
                    float[] q = softmax(ref.get(s));
                    for (int i = 0; i < p.length; i++) {
                        worstProb = Math.max(worstProb, Math.abs(p[i] - q[i]));
                        worstLogit = Math.max(worstLogit, Math.abs(ours.get(s)[i] - ref.get(s)[i]));
                    }
                }
                assertTrue(worstProb < 1e-4, "max |prob diff| " + worstProb + " for \"" + text + "\"");
                assertTrue(worstLogit < 1e-3, "max |logit diff| " + worstLogit + " for \"" + text + "\"");
            }
        }
    }

    private static float[] softmax(float[] l) {
        float[] lp = Logprobs.logSoftmax(l);
        for (int i = 0; i < lp.length; i++) {
            lp[i] = (float) Math.exp(lp[i]);
        }
        return lp;
    }
}
