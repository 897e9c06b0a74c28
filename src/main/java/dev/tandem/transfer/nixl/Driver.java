package dev.tandem.transfer.nixl;

import org.openucx.jucx.ucp.UcpWorker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Who drives an agent's UCX worker. UCX workers are single-threaded here, so every UCX call and everything the agent
 * keeps about its peers happens under one lock. A thread that posts a transfer takes it and drives the worker itself
 * until its transfer ends ({@link #driveUntil}): the copy, the flush, the notification and the completion all run on
 * the caller's thread, with no hand-off to another thread and back (on a busy machine each such wake-up costs a
 * scheduling delay of up to milliseconds, which dominated a 47 MB transfer). Meanwhile the agent's own thread stands
 * aside. Otherwise that thread runs the rounds: it serves peers' READs and hears notifications; idle, it spins
 * briefly, then sleeps on UCX's event file descriptor ({@code ucp_worker_arm}, then {@code poll(2)}), so an incoming
 * active message or {@link #submit}ted task wakes it at once, where it used to nap up to a millisecond.
 */
final class Driver {
    private static final Logger LOG = LoggerFactory.getLogger(Driver.class);
    /**
     * How long the agent's thread keeps polling after its last work before it sleeps: a peer's reply on a free core is
     * often this close. Not longer: a sleeping agent is woken by the sender's message, and on a small busy machine
     * the woken thread's spin took the core from the sender still finishing its transfer (a 1k-token push took 8-9
     * ms with 500 us of spin, 5 ms with 0 or 50 us, at load 4 on 2 cores).
     */
    private static final long SPIN_NANOS = 50_000;
    /** The longest the agent's thread sleeps without an event: its deadline checks run at least this often. */
    private static final int SLEEP_MILLIS = 50;
    /**
     * The longest a caller sleeps between checks of its transfer (a wake it missed costs at most this): callers are
     * woken by their peer's answer, or by another caller whose progress consumed it ({@link #wakeSleepers}).
     */
    private static final int CALLER_SLEEP_MILLIS = 5;
    private static final MethodHandle POLL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("poll"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT));

    /** One round of the agent's work: runs tasks, progresses UCX, checks deadlines; true if it did anything. */
    interface Round {
        boolean run() throws Exception;
    }

    private final UcpWorker worker;
    private final Round round;
    /** Whether the agent's thread should poll without sleeping (a READ it serves is in flight). */
    private final BooleanSupplier busy;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger callers = new AtomicInteger();
    final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    /** Threads asleep on the worker's event fd (the agent's, or callers waiting for a peer's answer). */
    private final AtomicInteger sleepers = new AtomicInteger();
    /** Of those, callers (not the agent's thread, which a caller's progress need not wake: it would stand aside). */
    private final AtomicInteger callersAsleep = new AtomicInteger();
    private volatile boolean closed;
    private boolean released; // under the lock
    private Thread thread;

    Driver(UcpWorker worker, Round round, BooleanSupplier busy) {
        this.worker = worker;
        this.round = round;
        this.busy = busy;
    }

    /** Starts the agent's thread; {@code release} runs on it, under the lock, when {@link #stop} ends the loop. */
    void start(String name, Runnable release) {
        thread = Thread.ofPlatform().daemon().name(name).start(() -> loop(release));
    }

    Thread thread() {
        return thread;
    }

    /** Queues {@code t} for whoever drives next and wakes the agent's thread if it sleeps. */
    void submit(Runnable t) {
        tasks.add(t);
        if (sleepers.get() > 0) {
            wake();
        } else {
            LockSupport.unpark(thread);
        }
    }

    /**
     * A transfer on this thread: runs {@code post} under the lock, then drives the worker until {@code done} holds for
     * what it returned, or {@code deadline} (nanoTime; a TimeoutException then). The agent's thread stands aside from
     * the post to the end (not woken in between). Drives by polling (on shared memory a WRITE's bytes move inside
     * these calls) and, after {@link #SPIN_NANOS} without progress, sleeps on the worker's event fd until the peer's
     * answer arrives: a READ's requester waits for the reader's copy that way instead of spinning (or yielding) on a
     * core the reader needs, and wakes when the answer comes rather than when the scheduler gets back to a thread
     * that yielded (milliseconds on a loaded machine).
     */
    <T> T transfer(Callable<T> post, java.util.function.Predicate<T> done, long deadline) throws Exception {
        callers.incrementAndGet();
        try {
            T t;
            acquire(deadline);
            try {
                if (closed) {
                    throw new IllegalStateException("the agent is closed");
                }
                t = post.call();
            } finally {
                lock.unlock();
            }
            long lastWork = System.nanoTime();
            Arena arena = null;
            MemorySegment pollfd = null;
            try {
                while (!done.test(t)) {
                    long now = System.nanoTime();
                    if (now - deadline > 0) {
                        throw new TimeoutException("no completion before the deadline");
                    }
                    acquire(deadline);
                    boolean did;
                    boolean armed = false;
                    try {
                        if (closed) {
                            throw new IllegalStateException("the agent is closed");
                        }
                        did = round.run();
                        if (did) {
                            wakeSleepers(); // this progress may have ended a transfer another caller sleeps on
                        } else if (!done.test(t) && now - lastWork > SPIN_NANOS && tasks.isEmpty()) {
                            armed = arm(true);
                        }
                    } finally {
                        lock.unlock();
                    }
                    if (did) {
                        lastWork = System.nanoTime();
                    } else if (armed) {
                        if (arena == null) {
                            arena = Arena.ofConfined();
                            pollfd = pollfd(arena);
                        }
                        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()) + 1;
                        try {
                            sleepArmed(pollfd, (int) Math.min(CALLER_SLEEP_MILLIS, Math.max(1, left)));
                        } finally {
                            callersAsleep.decrementAndGet();
                        }
                    } else {
                        Thread.onSpinWait();
                    }
                }
                return t;
            } finally {
                if (arena != null) {
                    arena.close();
                }
            }
        } finally {
            leave();
        }
    }

    /**
     * Arms the worker's event fd (under the lock) and counts the thread as a sleeper (a {@code caller}, or the agent's
     * thread); false if events are pending (UCX answers BUSY: progress again first).
     */
    private boolean arm(boolean caller) {
        try {
            worker.arm();
        } catch (RuntimeException busyNow) { // UCS_ERR_BUSY
            return false;
        }
        sleepers.incrementAndGet();
        if (caller) {
            callersAsleep.incrementAndGet();
        }
        return true;
    }

    /** After {@link #arm}: sleeps on the event fd until an event, a wake or {@code millis}; true unless timed out. */
    private boolean sleepArmed(MemorySegment pollfd, int millis) throws Exception {
        try {
            if (!tasks.isEmpty() || closed || Thread.currentThread() == thread && callers.get() > 0) {
                return true; // (the agent's thread stands aside for a caller that came meanwhile)
            }
            return (int) POLL.invokeExact(pollfd, 1L, millis) != 0; // 0: timed out; -1: EINTR
        } catch (Exception | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        } finally {
            sleepers.decrementAndGet();
        }
    }

    /** Under the lock: wakes callers asleep on the event fd (another thread's progress consumed their event). */
    private void wakeSleepers() {
        if (callersAsleep.get() > 0 && !released) {
            worker.signal();
        }
    }

    private MemorySegment pollfd(Arena arena) {
        MemorySegment pollfd = arena.allocate(8, 4); // struct pollfd {int fd; short events; short revents}
        pollfd.set(ValueLayout.JAVA_INT, 0, worker.getEventFD());
        pollfd.set(ValueLayout.JAVA_SHORT, 4, (short) 1); // POLLIN
        return pollfd;
    }

    /**
     * A caller is done with the worker. Its progress consumed events the agent's thread may have armed for, so that
     * thread, if asleep, is woken to re-arm (else a notification arriving now could wait for its sleep to end).
     */
    private void leave() {
        if (callers.decrementAndGet() == 0) {
            if (sleepers.get() > 0) {
                wake();
            } else {
                LockSupport.unpark(thread); // it parked while callers drove
            }
        }
    }

    private void acquire(long deadline) throws InterruptedException, TimeoutException {
        for (int spins = 0; !lock.tryLock(); spins++) {
            if (spins > 1000) { // held for long (another transfer's copy): wait in the lock's queue
                if (!lock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    throw new TimeoutException("the agent stayed busy past the deadline");
                }
                return;
            }
            Thread.onSpinWait();
        }
    }

    void stop() {
        closed = true;
        wake();
        LockSupport.unpark(thread);
    }

    private void wake() {
        lock.lock();
        try {
            if (thread != null && thread.isAlive() && !released) {
                worker.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    private void loop(Runnable release) {
        long lastWork = System.nanoTime();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = pollfd(arena);
            while (!closed) {
                if (callers.get() > 0) { // a caller drives the worker (and runs the tasks); the last one unparks us
                    LockSupport.parkNanos(this, 50_000_000);
                    lastWork = System.nanoTime() - SPIN_NANOS; // the caller drained the worker: no spin, one round
                    continue;
                }
                boolean did;
                lock.lock();
                try {
                    did = round.run();
                } finally {
                    lock.unlock();
                }
                if (did) {
                    lastWork = System.nanoTime();
                    if (callersAsleep.get() > 0) {
                        wake(); // a caller may sleep on an event this round consumed
                    }
                } else if (busy.getAsBoolean()) {
                    lastWork = System.nanoTime();
                    Thread.yield(); // waiting on the peer: poll again, but let its thread run if it shares our core
                } else if (System.nanoTime() - lastWork < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else if (sleep(pollfd)) {
                    lastWork = System.nanoTime();
                }
            }
        } catch (Throwable e) {
            LOG.error("nixl agent thread {} failed; the agent stops", Thread.currentThread().getName(), e);
        } finally {
            closed = true;
            lock.lock();
            try {
                release.run();
            } finally {
                released = true;
                lock.unlock();
            }
        }
    }

    /**
     * Arms the worker and sleeps until an event, a wake or {@link #SLEEP_MILLIS}; true if woken by an event or a
     * wake or when events were already pending (then the loop spins again), false if it timed out.
     */
    private boolean sleep(MemorySegment pollfd) throws Exception {
        lock.lock();
        try {
            if (callers.get() > 0 || !tasks.isEmpty()) {
                return false;
            }
            if (!arm(false)) {
                return true; // events are pending: progress first
            }
        } finally {
            lock.unlock();
        }
        return sleepArmed(pollfd, SLEEP_MILLIS);
    }
}
