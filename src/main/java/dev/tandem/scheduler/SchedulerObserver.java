package dev.tandem.scheduler;

/** Hears what the scheduler does, for metrics; called on the scheduler thread, must be cheap. */
public interface SchedulerObserver {
    /** After each step: queue sizes and KV pages. */
    default void onStep(SchedulerStats stats) {
    }

    default void onFirstToken(long ttftNanos) {
    }

    default void onInterToken(long nanos) {
    }

    default void onFinish(long e2eNanos, int promptTokens, int completionTokens, FinishReason reason) {
    }

    default void onRetract(int count) {
    }

    /** A decode worker received a room's KV: its size and the time from handing over the pages to SUCCESS. */
    default void onKvReceived(long bytes, long nanos) {
    }

    SchedulerObserver NONE = new SchedulerObserver() {
    };
}
