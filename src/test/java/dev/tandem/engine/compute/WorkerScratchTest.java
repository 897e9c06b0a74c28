package dev.tandem.engine.compute;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * Per-worker scratch keeps {@link WorkerScratch#PAD} floats nobody uses after each array, also once grown: the
 * attention job's arrays grow by what a worker may use, never into the room that keeps workers off each other's
 * cache lines (sizing by {@code length} would hand that room out).
 */
class WorkerScratchTest {
    @Test
    void eachWorkerGetsItsOwnPaddedArray() {
        float[][] a = WorkerScratch.perWorker(3, 100);
        assertEquals(3, a.length);
        for (float[] w : a) {
            assertEquals(100, WorkerScratch.usable(w));
            assertEquals(100 + WorkerScratch.PAD, w.length);
        }
        assertNotSame(a[0], a[1]);
        assertNotSame(a[1], a[2]);
    }

    @Test
    void attentionScratchGrowsByWhatIsUsableAndKeepsThePad() {
        float[][] a = WorkerScratch.perWorker(2, 0);
        AttentionJob.grow(a, 100);
        assertEquals(100, WorkerScratch.usable(a[0]));
        assertEquals(100 + WorkerScratch.PAD, a[1].length);
        float[] before = a[0];
        AttentionJob.grow(a, 100 + WorkerScratch.PAD / 2); // fits the array's length, not what a worker may use
        assertNotSame(before, a[0]);
        assertEquals(200, WorkerScratch.usable(a[0]), "doubled");
        float[] grown = a[1];
        AttentionJob.grow(a, 150);
        assertSame(grown, a[1], "no new array while the usable part is enough");
    }
}
