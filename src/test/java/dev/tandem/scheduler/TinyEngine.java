package dev.tandem.scheduler;

import dev.tandem.TestModels;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.tokenizer.TextTokenizer;

import java.util.List;
import java.util.stream.IntStream;

import static dev.tandem.config.ComputeBackendKind.VECTOR;

/**
 * The tiny model, its tokenizer and a two-thread compute backend, for tests that drive schedulers step by step.
 * Open one per test class ({@code @BeforeAll}) and close it after ({@code @AfterAll}).
 */
final class TinyEngine implements AutoCloseable {
    final ComputeBackend backend = ComputeBackends.create(VECTOR, 2);
    final Model model = Model.load(TestModels.tiny(), backend, s -> { });
    final TextTokenizer tokenizer = TextTokenizer.load(TestModels.tiny());

    /** Greedy decoding of {@code n} tokens, EOS ignored (every request runs its full length). */
    static SamplingParams greedy(int n) {
        return new SamplingParams(n, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), true, 0);
    }

    /** A deterministic prompt of {@code len} ids in the tiny vocabulary, different for each {@code seed}. */
    static int[] prompt(int seed, int len) {
        return IntStream.range(0, len).map(i -> 7 + (seed * 131 + i * 37 + i * i) % 480).toArray();
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
        backend.close();
    }
}
