package dev.tandem.engine.compute;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compute pool: every index of every call runs exactly once, on a worker index the call may use for scratch,
 * whatever the piece count; a failing body fails its call and leaves the pool usable; close stops the helpers.
 * Calls follow each other back to back with piece counts that go up and down, the pattern in which a helper still
 * leaving one call once claimed a piece of the next (it ran a null body).
 * A lost piece would leave the caller waiting for ever, hence the timeout.
 */
@Timeout(120)
class ParallelForTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void everyIndexRunsExactlyOnceOnAValidWorker(int threads) {
        try (ParallelFor pool = new ParallelFor(threads)) {
            int[] sizes = {1, 2, 3, 7, 8, 9, 31, 64, 1000, 4097};
            for (int call = 0; call < 3000; call++) {
                int n = sizes[call % sizes.length];
                int grain = 1 + call % 13; // with n: from one piece up to four a thread, going up and down
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                AtomicIntegerArray badWorker = new AtomicIntegerArray(1);
                pool.run(n, grain, (from, to, worker) -> {
                    if (worker < 0 || worker >= threads) {
                        badWorker.incrementAndGet(0);
                    }
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                assertEquals(0, badWorker.get(0), "worker index out of range in call " + call);
                for (int i = 0; i < n; i++) {
                    assertEquals(1, hits.get(i), "index " + i + " of call " + call + " (n " + n + ", grain " + grain
                            + ")");
                }
            }
        }
    }

    @Test
    void moreThanOneThreadTakesPartWhenThereArePieces() {
        try (ParallelFor pool = new ParallelFor(2)) {
            AtomicIntegerArray byWorker = new AtomicIntegerArray(2);
            for (int call = 0; call < 200 && byWorker.get(1) == 0; call++) {
                pool.run(64, 8, (from, to, worker) -> {
                    byWorker.addAndGet(worker, to - from);
                    long until = System.nanoTime() + 200_000; // long enough for the helper to claim a piece
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                });
            }
            assertTrue(byWorker.get(1) > 0, "the helper never ran a piece: " + byWorker);
        }
    }

    @Test
    void aFailingBodyFailsItsCallAndThePoolKeepsWorking() {
        try (ParallelFor pool = new ParallelFor(2)) {
            IllegalStateException boom = new IllegalStateException("piece failed");
            IllegalStateException thrown = assertThrows(IllegalStateException.class,
                    () -> pool.run(100, 1, (from, to, worker) -> {
                        if (from <= 50 && 50 < to) {
                            throw boom;
                        }
                    }));
            assertSame(boom, thrown);
            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            pool.run(100, 1, (from, to, worker) -> {
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            });
            for (int i = 0; i < 100; i++) {
                assertEquals(1, hits.get(i), "index " + i + " after the failed call");
            }
        }
    }

    @Test
    void closeStopsTheHelpers() throws InterruptedException {
        ParallelFor pool = new ParallelFor(3);
        pool.run(10, 1, (from, to, worker) -> { });
        Thread[] helpers = pool.helperThreads();
        assertEquals(2, helpers.length);
        pool.close();
        for (Thread t : helpers) {
            t.join(5000);
            assertFalse(t.isAlive(), t.getName() + " still running after close");
        }
    }
}
