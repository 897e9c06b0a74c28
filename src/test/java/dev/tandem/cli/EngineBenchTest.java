package dev.tandem.cli;

import dev.tandem.TestModels;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.Model;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.tandem.config.ComputeBackendKind.VECTOR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bench-engine's KV sizing: {@code --prompt-len 128 --steps 64 --batches 8} used to die with "KV row 1 holds 0
 * positions" because the pool was sized in tokens, ignoring that every row rounds up to whole pages, and decode
 * ignored a failed {@code ensureCapacity}. Each plan must now fit on every page size, and a pool that is too small
 * is a clear error that leaves no page behind.
 */
class EngineBenchTest {
    private static ComputeBackend backend;
    private static Model model;

    @BeforeAll
    static void load() {
        backend = ComputeBackends.create(VECTOR, 2);
        model = Model.load(TestModels.tiny(), backend, m -> { });
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 16, 64})
    void thePromptLen128Steps64Batch8RunFitsEveryPageSize(int pageSize) {
        EngineBench.Plan plan = EngineBench.plan(128, new int[] {8}, 64, 3, pageSize, model.config().maxPositions());
        try (PagedKvCache kv = EngineBench.newCache(model, plan)) {
            double[] prefill = EngineBench.prefill(model, kv, plan);
            double[] decode = EngineBench.decode(model, kv, plan, 8);
            assertEquals(3, prefill.length);
            assertEquals(3, decode.length);
            for (double t : decode) {
                assertTrue(t > 0 && Double.isFinite(t), "tokens/s " + t);
            }
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages(), "every page back");
            assertEquals(plan.maxBatch(), kv.freeRows(), "every row back");
        }
    }

    @Test
    void everyBatchOfAMixedPlanFits() {
        EngineBench.Plan plan = EngineBench.plan(40, new int[] {1, 3, 5}, 20, 2, 16, model.config().maxPositions());
        try (PagedKvCache kv = EngineBench.newCache(model, plan)) {
            for (int b : plan.batches()) {
                assertEquals(2, EngineBench.decode(model, kv, plan, b).length);
                assertEquals(kv.allocator().totalPages(), kv.allocator().freePages(), "batch " + b);
            }
        }
    }

    @Test
    void aPoolOnePageShortIsAClearErrorAndLeaksNothing() {
        EngineBench.Plan plan = EngineBench.plan(32, new int[] {4}, 16, 1, 16, model.config().maxPositions());
        try (PagedKvCache kv = model.newKvCache(16, (plan.pages() - 1) * 16, 4, plan.context())) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> EngineBench.decode(model, kv, plan, 4));
            assertTrue(e.getMessage().contains("cannot hold decode row 3 of batch 4"), e.getMessage());
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages(), "every page back");
            assertEquals(4, kv.freeRows(), "every row back");
        }
    }

    @Test
    void aRunLongerThanTheModelsContextIsRefusedNamingTheFlags() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineBench.plan(128, new int[] {1}, 4096, 3, 16, model.config().maxPositions()));
        assertTrue(e.getMessage().contains("--steps 4096"), e.getMessage());
    }
}
