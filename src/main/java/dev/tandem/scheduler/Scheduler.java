package dev.tandem.scheduler;

import dev.tandem.kvevents.KvEvent;

import java.util.List;

/** What {@link SchedulerLoop} drives: the colocated, prefill and decode schedulers. */
public interface Scheduler {
    void submit(SchedulerRequest r);

    /** Ends every request {@code scope} covers wherever it is, returning its pages; false when none was found. */
    boolean abort(RequestScope scope, String message);

    /** {@code /abort_request}: the request named {@code rid} and the items derived from it. */
    default boolean abort(String rid, String message) {
        return abort(new RequestScope.Rid(rid), message);
    }

    void abortAll(String message, int statusCode);

    /**
     * Holds back ({@code paused}) or lets go the decoding of what {@code scope} covers: a streaming client that does
     * not read gets no new tokens, and costs no compute, until it reads again. A paused request keeps its pages.
     * Schedulers whose requests produce one token (prefill) ignore it.
     */
    default void pause(RequestScope scope, boolean paused) {
    }

    boolean hasWork();

    /** One round; returns false when nothing could move (only waiting on peers), so the loop may pause. */
    boolean step();

    SchedulerStats stats();

    /** SGLang's flush_cache: drops cached prefixes; false (nothing done) while requests are queued or running. */
    default boolean flushCache() {
        return !hasWork();
    }

    /**
     * As {@link #flushCache()}; with {@code storage}, a hierarchical cache's storage tier (shared with other workers)
     * is emptied too. Schedulers without one ignore it.
     */
    default boolean flushCache(boolean storage) {
        return flushCache();
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
