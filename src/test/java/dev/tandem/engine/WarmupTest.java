package dev.tandem.engine;

import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.VectorBackend;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.model.Warmup;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The start-up warm-up: what it runs, that it gives every row and page back, and that it changes no output. */
class WarmupTest {
    @Test
    void runsPromptsAndBothDecodeShapesThenGivesTheCacheBack() {
        try (ComputeBackend backend = new VectorBackend(2);
             Model model = Model.load(dev.tandem.TestModels.tiny(), backend, msg -> { });
             PagedKvCache kv = model.newKvCache(16, 1024, 8, 256)) {
            int pages = kv.allocator().freePages();
            int rows = kv.freeRows();
            int[] prompt = EngineFixture.tokens(20, 3);
            float[] before = lastLogits(model, kv, prompt);

            Warmup.Stats s = Warmup.run(model.transformer(), kv, model.config().vocabSize());
            // A prompt alone, three as one batch, 12 steps of 4 rows and 12 of one row.
            assertEquals(2 + 24, s.forwards());
            assertEquals(4 * 32 + 12 * 4 + 12, s.tokens());
            assertEquals(pages, kv.allocator().freePages(), "every page given back");
            assertEquals(rows, kv.freeRows(), "every row given back");
            assertArrayEquals(before, lastLogits(model, kv, prompt), "the same logits after the warm-up");
        }
    }

    @Test
    void aSmallPoolGetsAShorterWarmUpAndATinyOneNone() {
        try (ComputeBackend backend = new VectorBackend(2);
             Model model = Model.load(dev.tandem.TestModels.tiny(), backend, msg -> { })) {
            // 64 tokens of pages: one row of 57 positions (4 pages) fits, a second does not.
            try (PagedKvCache kv = model.newKvCache(16, 64, 8, 256)) {
                Warmup.Stats s = Warmup.run(model.transformer(), kv, model.config().vocabSize());
                assertEquals(1 + 24, s.forwards());
                assertEquals(32 + 24, s.tokens());
                assertEquals(4, kv.allocator().freePages());
                assertEquals(8, kv.freeRows());
            }
            try (PagedKvCache kv = model.newKvCache(16, 32, 8, 256)) {
                assertEquals(0, Warmup.run(model.transformer(), kv, model.config().vocabSize()).forwards());
                assertEquals(2, kv.allocator().freePages());
                assertEquals(8, kv.freeRows());
            }
        }
    }

    private static float[] lastLogits(Model model, PagedKvCache kv, int[] prompt) {
        int row = kv.allocateRow();
        try {
            kv.ensureCapacity(row, prompt.length);
            ForwardOutput out = model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 0, prompt)), kv);
            int vocab = model.config().vocabSize();
            int at = out.offset(0, 0);
            return java.util.Arrays.copyOfRange(out.logits(), at, at + vocab);
        } finally {
            kv.release(row);
        }
    }
}
