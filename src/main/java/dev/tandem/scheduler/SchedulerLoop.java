package dev.tandem.scheduler;

import dev.tandem.kvevents.EventPublisher;
import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.KvEventBatch;
import dev.tandem.kvevents.NullEventPublisher;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The one thread that owns a scheduler, its model and its KV cache. Other threads talk to it only through
 * {@link #submit}, {@link #abort} and {@link #run}, which queue commands; the loop drains them between steps and
 * sleeps when there is nothing to do. An exception in a step fails the requests in flight (500) and the loop goes
 * on. After every round (commands, then a step or an idle wait of at most 100 ms) it drains the prefix cache's
 * events and hands them to the {@link EventPublisher} as one batch: the cache only queues them.
 */
public final class SchedulerLoop implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SchedulerLoop.class);

    private final Scheduler scheduler;
    private final EventPublisher events;
    private final LinkedBlockingQueue<Consumer<Scheduler>> inbox = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile SchedulerStats stats;
    /** When the loop last came round (nanoTime): a step that never returns leaves it behind. */
    private volatile long lastTickNanos = System.nanoTime();

    public SchedulerLoop(String threadName, Scheduler scheduler) {
        this(threadName, scheduler, new NullEventPublisher());
    }

    /** @param events where KV-cache event batches go (the caller owns it and closes it after this loop) */
    public SchedulerLoop(String threadName, Scheduler scheduler, EventPublisher events) {
        this.scheduler = scheduler;
        this.events = events;
        this.stats = scheduler.stats();
        this.thread = Thread.ofPlatform().name(threadName).daemon().unstarted(this::loop);
    }

    public SchedulerLoop start() {
        thread.start();
        return this;
    }

    public void submit(SchedulerRequest r) {
        inbox.add(s -> s.submit(r));
    }

    /**
     * Submits a batch request's items as one command: the loop sees all of them in the same round, so they are
     * admitted together rather than the first running ahead while the caller is still queueing the rest.
     */
    public void submitAll(List<SchedulerRequest> rs) {
        inbox.add(s -> rs.forEach(s::submit));
    }

    /**
     * {@code /abort_request}: aborts the request named {@code rid} and the items derived from it if still queued or
     * running; their sinks hear an abort finish.
     */
    public void abort(String rid, String message) {
        abort(new RequestScope.Rid(rid), message);
    }

    /** Aborts what {@code scope} covers, if still queued or running. */
    public void abort(RequestScope scope, String message) {
        inbox.add(s -> s.abort(scope, message));
    }

    /** Pauses or resumes the decoding of what {@code scope} covers (see {@link Scheduler#pause}). */
    public void pause(RequestScope scope, boolean paused) {
        inbox.add(s -> s.pause(scope, paused));
    }

    /** Runs {@code action} on the scheduler thread between steps and completes with its result. */
    public <T> CompletableFuture<T> run(java.util.function.Function<Scheduler, T> action) {
        CompletableFuture<T> f = new CompletableFuture<>();
        inbox.add(s -> {
            try {
                T result = action.apply(s);
                stats = s.stats(); // whoever waits on the result then sees its effect in the stats (flush_cache)
                f.complete(result);
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /**
     * Like {@link #run}, after handing the queued KV events to the publisher: the action sees the cache exactly as
     * the events published so far describe it (a snapshot for a consumer that lost track).
     */
    public <T> CompletableFuture<T> runAfterEvents(java.util.function.Function<Scheduler, T> action) {
        return run(s -> {
            publishEvents();
            return action.apply(s);
        });
    }

    /** The snapshot published after the latest step. */
    public SchedulerStats stats() {
        return stats;
    }

    /**
     * Null while the loop is running and came round within {@code maxStallNanos}; else why not (stopped, died, or
     * stuck in one step). {@code /health} answers 503 with it, so gateways stop routing to a wedged worker (SGLang's
     * health semantics: a live HTTP server is not a live scheduler).
     */
    public String unhealthy(long maxStallNanos) {
        return unhealthy(maxStallNanos, System.nanoTime());
    }

    /** As {@link #unhealthy(long)}, judged at {@code nowNanos} (tests pass a moment of their choosing). */
    String unhealthy(long maxStallNanos, long nowNanos) {
        if (stopping || !thread.isAlive()) {
            return "the scheduler loop is not running";
        }
        long stalled = nowNanos - lastTickNanos;
        return stalled > maxStallNanos ? "the scheduler loop has been stuck in one step for "
                + stalled / 1_000_000_000 + " s" : null;
    }

    public String threadName() {
        return thread.getName();
    }

    private void loop() {
        boolean progressed = true;
        while (!stopping) {
            lastTickNanos = System.nanoTime();
            try {
                // Busy with forwards: don't wait. Only waiting on peers (transfers): poll the inbox every
                // millisecond. Idle: sleep until a command arrives (at most 100 ms, to refresh the stats).
                long waitMs = !scheduler.hasWork() ? 100 : progressed ? 0 : 1;
                Consumer<Scheduler> cmd = waitMs == 0 ? inbox.poll() : inbox.poll(waitMs, TimeUnit.MILLISECONDS);
                while (cmd != null) {
                    cmd.accept(scheduler);
                    cmd = inbox.poll();
                }
                progressed = !scheduler.hasWork() || scheduler.step();
                stats = scheduler.stats();
                publishEvents();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException | Error e) {
                LOG.error("scheduler step failed; failing the requests in flight", e);
                scheduler.abortAll("internal error: " + e, 500);
                stats = scheduler.stats();
            }
        }
        scheduler.abortAll("server shutting down", 503);
        // Rooms whose pushes are still running finish as those return (each network wait has a deadline); their
        // clients get the 503 rather than a dropped connection. Bounded: the engine is closed after this anyway.
        boolean interrupted = Thread.interrupted(); // close() interrupts us; the drain below must still wait
        long end = System.nanoTime() + SHUTDOWN_DRAIN_NANOS;
        while (scheduler.hasWork() && System.nanoTime() < end) {
            try {
                scheduler.step();
            } catch (RuntimeException e) {
                break;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        publishEvents();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static final long SHUTDOWN_DRAIN_NANOS = 3_000_000_000L;

    private void publishEvents() {
        List<KvEvent> ev = scheduler.takeKvEvents();
        if (!ev.isEmpty()) {
            // DP rank 0: one scheduler per worker (no data-parallel attention).
            events.publish(new KvEventBatch(System.currentTimeMillis() / 1000.0, ev, 0));
        }
    }

    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
