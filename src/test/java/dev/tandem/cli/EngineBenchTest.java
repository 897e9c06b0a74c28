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
    void theLimitsAreProbedBeforeTheFirstTimedRunAndAfterEachOne() {
        EngineBench.Plan plan = EngineBench.plan(24, new int[] {2}, 8, 3, 16, model.config().maxPositions());
        try (PagedKvCache kv = EngineBench.newCache(model, plan)) {
            java.util.List<Integer> prefill = new java.util.ArrayList<>();
            java.util.List<Integer> decode = new java.util.ArrayList<>();
            assertEquals(3, EngineBench.prefill(model, kv, plan, prefill::add).length);
            assertEquals(3, EngineBench.decode(model, kv, plan, 2, decode::add).length);
            assertEquals(java.util.List.of(0, 1, 2, 3), prefill);
            assertEquals(java.util.List.of(0, 1, 2, 3), decode);
        }
    }

    @Test
    void eachRunIsJudgedAgainstTheHigherOfTheReadingsAroundIt() {
        BenchLimits.Reading[] around = {
            new BenchLimits.Reading(100, 10), new BenchLimits.Reading(200, 40), new BenchLimits.Reading(50, 20)};
        double[] reads = BenchLimits.fractions(new double[] {150, 30}, around, BenchLimits.Reading::readBytesPerSecond);
        assertEquals(0.75, reads[0]); // 150 / max(100, 200)
        assertEquals(0.15, reads[1]); // 30 / max(200, 50): the dip after it does not inflate it
        double[] flops = BenchLimits.fractions(new double[] {10, 20}, around, BenchLimits.Reading::flopsPerSecond);
        assertEquals(0.25, flops[0]);
        assertEquals(0.5, flops[1]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchLimits.fractions(new double[] {1, 2, 3}, around, BenchLimits.Reading::flopsPerSecond));
        assertTrue(e.getMessage().contains("3 runs need 4 readings"), e.getMessage());
    }

    @Test
    void theProbesReadPositiveLimitsAndRefuseAnEmptyProbe() {
        try (BenchLimits limits = new BenchLimits(backend, 8)) {
            BenchLimits.Reading r = limits.bracket();
            assertTrue(r.readBytesPerSecond() > 0 && Double.isFinite(r.readBytesPerSecond()), r.toString());
            assertTrue(r.flopsPerSecond() > 0 && Double.isFinite(r.flopsPerSecond()), r.toString());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BenchLimits(backend, 0));
        assertTrue(e.getMessage().contains("--probe-mb"), e.getMessage());
    }

    @Test
    void aRunLongerThanTheModelsContextIsRefusedNamingTheFlags() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineBench.plan(128, new int[] {1}, 4096, 3, 16, model.config().maxPositions()));
        assertTrue(e.getMessage().contains("--steps 4096"), e.getMessage());
    }
}
