package dev.tandem.scheduler;

import dev.tandem.kvevents.KvEvent;

import java.util.List;

/** What {@link SchedulerLoop} drives: the colocated, prefill and decode schedulers. */
public interface Scheduler {
    void submit(SchedulerRequest r);

    /** Ends every request {@code scope} covers wherever it is, returning its pages; false when none was found. */
    boolean abort(AbortScope scope, String message);

    /** {@code /abort_request}: the request named {@code rid} and the items derived from it. */
    default boolean abort(String rid, String message) {
        return abort(new AbortScope.Rid(rid), message);
    }

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
