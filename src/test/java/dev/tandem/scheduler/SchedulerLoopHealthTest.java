package dev.tandem.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A loop stuck in one step, or stopped, reports itself unhealthy with the reason; a running one does not. */
@Timeout(30)
class SchedulerLoopHealthTest {
    /** A scheduler whose step blocks once {@link #wedge} is set, until released. */
    static final class Wedgeable extends StubScheduler {
        volatile boolean wedge;
        final CountDownLatch inside = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public boolean hasWork() {
            return wedge;
        }

        @Override
        public boolean step() {
            inside.countDown();
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        }
    }

    private static final long SECOND = 1_000_000_000L;

    /** Polls (bounded) until the loop came round within the last second: it does every 100 ms when idle. */
    private static void awaitComingRound(SchedulerLoop loop) throws InterruptedException {
        for (int i = 0; i < 500 && loop.unhealthy(SECOND) != null; i++) {
            Thread.sleep(10);
        }
        assertNull(loop.unhealthy(SECOND));
    }

    @Test
    void aWedgedOrStoppedLoopIsUnhealthy() throws Exception {
        Wedgeable s = new Wedgeable();
        SchedulerLoop loop = new SchedulerLoop("test-loop", s).start();
        try {
            awaitComingRound(loop);
            s.wedge = true;
            assertTrue(s.inside.await(5, TimeUnit.SECONDS));
            // Inside the step, judged a minute later: no wall-clock wait, the loop cannot have come round.
            String why = loop.unhealthy(SECOND, System.nanoTime() + 60 * SECOND);
            assertTrue(why != null && why.contains("stuck in one step for 6"), why);
            s.wedge = false;
            s.release.countDown();
            awaitComingRound(loop);
        } finally {
            loop.close();
        }
        String why = loop.unhealthy(SECOND);
        assertTrue(why != null && why.contains("not running"), why);
    }
}
