package dev.tandem.engine;

import dev.tandem.config.ComputeBackendKind;
import dev.tandem.engine.model.PhaseClock;
import dev.tandem.engine.model.PhaseClock.Phase;
import dev.tandem.kvcache.PagedKvCache;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The transformer's per-phase timing ({@code bench-engine --phases}): off by default, every phase of a forward pass
 * counted when on, counted time inside the pass's own, nothing counted once off again, and no effect on the logits.
 */
class PhaseClockTest {
    private static final int[] PROMPT = {1, 17, 42, 99, 7};

    @Test
    void offByDefaultOnCountsEveryPhaseOfAPassAndChangesNoLogit() {
        try (EngineFixture f = new EngineFixture(ComputeBackendKind.VECTOR);
             PagedKvCache kv = f.cache(16, 64)) {
            PhaseClock clock = f.model.transformer().phaseClock();
            float[][] off = f.prefill(kv, PROMPT, 0);
            assertEquals(0, clock.totalNanos(), "nothing counted while off");

            clock.counting(true);
            long t0 = System.nanoTime();
            float[][] on = f.prefill(kv, PROMPT, 0);
            long wall = System.nanoTime() - t0;
            clock.counting(false);
            for (Phase p : Phase.values()) {
                assertTrue(clock.nanos(p) > 0, p + " counted");
            }
            assertTrue(clock.totalNanos() <= wall, "phases " + clock.totalNanos() + " ns within the call's " + wall);
            for (int i = 0; i < PROMPT.length; i++) {
                assertArrayEquals(off[i], on[i], "row " + i);
            }

            long counted = clock.totalNanos();
            f.prefill(kv, PROMPT, 0);
            assertEquals(counted, clock.totalNanos(), "nothing counted once off again");
            clock.reset();
            assertEquals(0, clock.totalNanos());
        }
    }

    @Test
    void theBreakdownNamesEveryPhaseAndTheTimeOutsideTheForward() {
        PhaseClock clock = new PhaseClock();
        String line = clock.breakdown(1_000_000);
        for (Phase p : Phase.values()) {
            assertTrue(line.contains(p.label() + " 0.0%"), line);
        }
        assertTrue(line.endsWith("outside the forward 100.0%"), line);
    }
}
