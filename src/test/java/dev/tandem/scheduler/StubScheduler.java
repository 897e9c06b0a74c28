package dev.tandem.scheduler;

/**
 * A scheduler for tests of {@link SchedulerLoop} itself: it accepts and aborts nothing and reports no stats; a
 * test overrides what it observes ({@code submit}, {@code hasWork}, {@code step}).
 */
abstract class StubScheduler implements Scheduler {
    @Override
    public void submit(SchedulerRequest r) {
    }

    @Override
    public boolean abort(RequestScope scope, String message) {
        return false;
    }

    @Override
    public void abortAll(String message, int statusCode) {
    }

    @Override
    public SchedulerStats stats() {
        return null;
    }
}
