package dev.tandem.scheduler;

/** What {@link SchedulerLoop} drives: the colocated scheduler now, prefill and decode schedulers later. */
public interface Scheduler {
    void submit(SchedulerRequest r);

    boolean abort(String rid, String message);

    void abortAll(String message, int statusCode);

    boolean hasWork();

    /** One round; returns false when nothing could move (only waiting on peers), so the loop may pause. */
    boolean step();

    SchedulerStats stats();
}
