package dev.tandem.scheduler;

import dev.tandem.TestModels;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.Model;
import dev.tandem.tokenizer.TextTokenizer;

/**
 * The tiny model, its tokenizer and a two-thread compute backend, for tests that drive schedulers step by step.
 * Open one per test class ({@code @BeforeAll}) and close it after ({@code @AfterAll}).
 */
final class TinyEngine implements AutoCloseable {
    final ComputeBackend backend = ComputeBackends.create("vector", 2);
    final Model model = Model.load(TestModels.tiny(), backend, s -> { });
    final TextTokenizer tokenizer = TextTokenizer.load(TestModels.tiny());

    @Override
    public void close() {
        tokenizer.close();
        model.close();
        backend.close();
    }
}
