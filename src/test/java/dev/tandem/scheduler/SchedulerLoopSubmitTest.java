package dev.tandem.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A batch request's items reach the scheduler in one round: no step runs between the first and the last, so the
 * first cannot run ahead of its siblings (a streaming client's pause then holds all of them, SlowReaderTest).
 */
@Timeout(30)
class SchedulerLoopSubmitTest {
    /** Steps without end, recording how many requests it had been given at each step. */
    static final class Counting extends StubScheduler {
        volatile int submitted;
        final List<Integer> seenAtStep = new CopyOnWriteArrayList<>();

        @Override
        public void submit(SchedulerRequest r) {
            submitted++;
        }

        @Override
        public boolean hasWork() {
            return true;
        }

        @Override
        public boolean step() {
            seenAtStep.add(submitted);
            Thread.onSpinWait();
            return true;
        }
    }

    @Test
    void aBatchsItemsArriveInOneRound() throws Exception {
        Counting s = new Counting();
        SchedulerLoop loop = new SchedulerLoop("test-loop", s).start();
        try {
            int batches = 200;
            int items = 64;
            for (int b = 0; b < batches; b++) {
                List<SchedulerRequest> batch = new ArrayList<>();
                for (int i = 0; i < items; i++) {
                    batch.add(new SchedulerRequest("r" + b + "-" + i, new int[] {1}, null, false, -1, 0, null,
                            o -> { }, null));
                }
                loop.submitAll(batch);
            }
            for (int i = 0; i < 500 && s.submitted < batches * items; i++) {
                Thread.sleep(10);
            }
            assertEquals(batches * items, s.submitted);
            for (int seen : s.seenAtStep) {
                assertEquals(0, seen % items, "a step ran with part of a batch submitted: " + seen);
            }
            assertTrue(s.seenAtStep.size() > 1, "the loop stepped while the batches came in");
        } finally {
            loop.close();
        }
    }
}
