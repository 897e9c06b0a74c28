package dev.tandem.scheduler;

import dev.tandem.kvevents.KvEvent;

import java.util.List;

/** What {@link SchedulerLoop} drives: the colocated, prefill and decode schedulers. */
public interface Scheduler {
    void submit(SchedulerRequest r);

    boolean abort(String rid, String message);

    void abortAll(String message, int statusCode);

    boolean hasWork();

    /** One round; returns false when nothing could move (only waiting on peers), so the loop may pause. */
    boolean step();

    SchedulerStats stats();

    /** SGLang's flush_cache: drops cached prefixes; false (nothing done) while requests are queued or running. */
    default boolean flushCache() {
        return !hasWork();
    }

    /** The prefix cache's events since the last call, oldest first (none without a prefix cache). */
    default List<KvEvent> takeKvEvents() {
        return List.of();
    }

    /** The whole prefix cache as events: {@code AllBlocksCleared} then every stored block. */
    default List<KvEvent> kvSnapshot() {
        return List.of(new KvEvent.AllBlocksCleared());
    }
}
