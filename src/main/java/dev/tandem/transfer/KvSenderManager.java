package dev.tandem.transfer;

import dev.tandem.kvcache.KvPool;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The prefill worker's side of KV transfer: stores the decode workers' registrations and per-room transfer infos
 * (which may arrive before the request does), owns the senders and their state (bootstrap, timeout, abort, conclude),
 * and queues their pushes on {@link SendLanes} so the scheduler thread never waits on a copy or a socket;
 * {@link KvPusher} does the writing. Concluded rooms are reported to the decode worker through {@link StatusNotifier}.
 */
public final class KvSenderManager implements AutoCloseable {
    /** Delivers frame C to a decode worker (the bus adapter implements it). */
    @FunctionalInterface
    public interface StatusNotifier {
        void notify(String decodeWorkerId, Messages.TransferStatus status);
    }

    private final TransferEngine engine;
    private final KvLayout layout;
    private volatile KvFormat format; // this worker's, or null: registrations checked on layout only
    private final StatusNotifier notifier;
    private final long bootstrapTimeoutNanos;
    private final double failureProb;
    private final SendLanes lanes;
    private final KvPusher pusher;
    private final Map<String, Messages.KvArgsRegistration> registrations = new ConcurrentHashMap<>();
    private final Map<Long, Messages.TransferInfo> earlyInfos = new ConcurrentHashMap<>();
    private final Map<Long, KvSender> senders = new ConcurrentHashMap<>();
    /**
     * Rooms the decode side gave up on before their request came here, oldest first, at most
     * {@link #MAX_EARLY_ABORTS}: a room whose request never comes would otherwise stay for ever (a decode worker aborts
     * rooms still waiting for their pages too); a request whose room was pushed out only waits out the bootstrap
     * timeout. Guarded by {@link #rooms}.
     */
    private final Map<Long, String> abortedEarly = new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, String> eldest) {
            return size() > MAX_EARLY_ABORTS;
        }
    };
    static final int MAX_EARLY_ABORTS = 4096;
    /**
     * Guards the room table (senders, early infos, early aborts): {@code create} runs on the scheduler thread while
     * infos and aborts arrive on the bus, and an abort slipping between a sender's creation and its lookup would let
     * the decode side free pages this worker then pushes into.
     */
    private final Object rooms = new Object();
    private final String incarnation = java.util.UUID.randomUUID().toString();
    /**
     * The last outcomes reported (frame C), by room, so a decode worker whose frame C was lost on the bus (a
     * partition, a cluster view without it) learns them from its next heartbeat instead of its waiting timeout.
     */
    private final Map<Long, Messages.TransferStatus> reported = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Long, Messages.TransferStatus> eldest) {
                    return size() > REPORTED_KEPT;
                }
            });
    private static final int REPORTED_KEPT = 16384;
    /** Nanoseconds, as {@link System#nanoTime()}; tests drive timeouts with a clock of their own. */
    private final java.util.function.LongSupplier clock;

    /**
     * @param failureProb probability that a poll reports FAILED (SGLang's DISAGGREGATION_TEST_FAILURE_PROB)
     */
    public KvSenderManager(TransferEngine engine, KvPool pool, AuxBuffers aux, StatusNotifier notifier,
                           long bootstrapTimeoutNanos, double failureProb, int threads, TransferObserver observer) {
        this(engine, pool, aux, notifier, bootstrapTimeoutNanos, failureProb, threads, observer, System::nanoTime,
                WriteLeases.Client.UNFENCED);
    }

    /** As above, judging the bootstrap timeout by {@code clock} (nanoseconds). */
    public KvSenderManager(TransferEngine engine, KvPool pool, AuxBuffers aux, StatusNotifier notifier,
                           long bootstrapTimeoutNanos, double failureProb, int threads, TransferObserver observer,
                           java.util.function.LongSupplier clock) {
        this(engine, pool, aux, notifier, bootstrapTimeoutNanos, failureProb, threads, observer, clock,
                WriteLeases.Client.UNFENCED);
    }

    /** As above, writing into a decode worker's pages only under a lease from it (see {@link WriteLeases}). */
    public KvSenderManager(TransferEngine engine, KvPool pool, AuxBuffers aux, StatusNotifier notifier,
                           long bootstrapTimeoutNanos, double failureProb, int threads, TransferObserver observer,
                           java.util.function.LongSupplier clock, WriteLeases.Client leases) {
        this.clock = clock;
        this.engine = engine;
        this.layout = new KvLayout(pool.numLayers(), pool.regionOffset(1, false), pool.pageBytes());
        this.notifier = notifier;
        this.bootstrapTimeoutNanos = bootstrapTimeoutNanos;
        this.failureProb = failureProb;
        this.lanes = new SendLanes(threads);
        this.pusher = new KvPusher(engine, pool, layout, aux, new WriteLeases(leases, clock), observer);
    }

    /**
     * What this worker's pages hold; from then on a decode worker that declares a different format is refused at
     * registration, naming both values. Set once at start-up, before the bootstrap service runs.
     */
    public void expectFormat(KvFormat own) {
        this.format = own;
    }

    /** This worker's incarnation (new at each start): bootstrap replies carry it so decode peers see restarts. */
    public String incarnation() {
        return incarnation;
    }

    /**
     * Frame A: a decode worker's KV and aux memory. Replaces an earlier registration of the same worker; if it
     * comes from a new incarnation (the worker restarted), the rooms of its previous life fail first: their pages
     * belong to a pool that no longer exists.
     */
    public void onRegistration(Messages.KvArgsRegistration reg) {
        engine.accept(reg.kv()); // another backend's registration: refused with both backends named
        engine.accept(reg.aux());
        KvFormat.requireSame(format, reg.format(), reg.decodeWorkerId()); // before the layout: it names the cause
        if (reg.kvLayout().pageBytes() != layout.pageBytes() || reg.kvLayout().numLayers() != layout.numLayers()) {
            throw new IllegalArgumentException("decode worker " + reg.decodeWorkerId() + " has KV layout "
                    + reg.kvLayout() + ", this prefill worker " + layout + " (same model and page size needed)");
        }
        Messages.KvArgsRegistration old;
        synchronized (rooms) {
            old = registrations.put(reg.decodeWorkerId(), reg);
            if (old != null && !old.incarnation().equals(reg.incarnation())) {
                failRoomsOf(reg.decodeWorkerId(), old.incarnation(), "decode worker " + reg.decodeWorkerId()
                        + " restarted (incarnation " + old.incarnation() + " -> " + reg.incarnation() + ")");
            }
            for (KvSender s : senders.values()) { // rooms whose info came before this registration
                Messages.TransferInfo info = s.info;
                if (info != null && s.status() == KvPoll.BOOTSTRAPPING
                        && info.decodeWorkerId().equals(reg.decodeWorkerId())) {
                    attach(s, info);
                }
            }
        }
        if (old != null) { // the worker restarted or moved: release what the engine holds for its old segments
            forgetSegments(old, reg);
        }
    }

    /** On the common pool: forgetting waits for writes in flight, and callers run on an event loop. */
    private void forgetSegments(Messages.KvArgsRegistration old, Messages.KvArgsRegistration now) {
        try {
            lanes.common().execute(() -> {
                if (now == null || !old.kv().equals(now.kv())) {
                    engine.forgetPeer(old.kv());
                }
                if (now == null || !old.aux().equals(now.aux())) {
                    engine.forgetPeer(old.aux());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // closing: the engine releases everything itself
        }
    }

    /** Frame B: the destination of a room; the room's sender may not exist yet. */
    public void onTransferInfo(Messages.TransferInfo info) {
        synchronized (rooms) {
            KvSender s = senders.get(info.room());
            if (s == null) {
                earlyInfos.put(info.room(), info);
                return;
            }
            attach(s, info);
        }
    }

    private void attach(KvSender s, Messages.TransferInfo info) {
        Messages.KvArgsRegistration reg = registrations.get(info.decodeWorkerId());
        if (reg == null) {
            // This worker restarted since the decode worker registered: our reply tells it so (the incarnation), it
            // registers again, and the room goes on then (or fails at the bootstrap timeout if it never does).
            s.info = info;
            return;
        }
        if (!reg.incarnation().equals(info.incarnation())) {
            s.info = info; // so that the decode side hears the failure
            fail(s, "transfer info for room " + info.room() + " from a previous incarnation (" + info.incarnation()
                    + ") of decode worker " + info.decodeWorkerId());
            return;
        }
        s.info = info;
        s.update(KvPoll.WAITING_FOR_INPUT, null);
    }

    /**
     * A new room (the request reached the bootstrap queue). A fake room (bootstrap host 2.2.2.2: warm-up, health
     * checks) needs no decode side: it is ready at once, moves nothing and is not tracked, so rooms may repeat.
     */
    public KvSender create(long room, boolean fake) {
        if (fake) {
            KvSender s = new KvSender(room, true, clock.getAsLong());
            s.update(KvPoll.WAITING_FOR_INPUT, null);
            return s;
        }
        KvSender s = new KvSender(room, false, clock.getAsLong());
        synchronized (rooms) {
            if (senders.putIfAbsent(room, s) != null) {
                throw new IllegalStateException("room " + room + " is already in use on this prefill worker");
            }
            Messages.TransferInfo early = earlyInfos.remove(room);
            if (early != null) {
                attach(s, early);
            }
            String aborted = abortedEarly.remove(room);
            if (aborted != null) {
                fail(s, aborted);
            }
        }
        return s;
    }

    /**
     * The decode side gave up on {@code room}; the request may not have reached this worker yet. Returns true when
     * nothing can be writing into the decode side's pages (no sender yet): it may free them at once; otherwise it
     * hears FAILED (frame C) once the room's pushes stopped.
     */
    public boolean onAbortRoom(Messages.AbortRoom a) {
        synchronized (rooms) {
            KvSender s = senders.get(a.room());
            if (s == null) {
                earlyInfos.remove(a.room());
                abortedEarly.put(a.room(), a.reason());
                return true;
            }
            fail(s, a.reason());
            return false;
        }
    }

    /** The sender's status, applying the bootstrap timeout and the failure-injection knob. */
    public KvPoll poll(KvSender s) {
        KvPoll st = s.status();
        if (st == KvPoll.BOOTSTRAPPING && clock.getAsLong() - s.createdNanos > bootstrapTimeoutNanos) {
            fail(s, "Request " + s.room + " timed out after " + bootstrapTimeoutNanos / 1_000_000_000
                    + "s in KVPoll.Bootstrapping");
        } else if (!st.concluded() && !s.fake && failureProb > 0
                && ThreadLocalRandom.current().nextDouble() < failureProb) {
            fail(s, "injected failure (failure_prob " + failureProb + ")");
        }
        return s.status();
    }

    /**
     * Queues the pages {@code srcPages} (the request's pages from page index {@code firstPage} of its prompt) for
     * the room's destination; with {@code lastAux}, also the aux row from local slot {@code auxSlot} and then
     * concludes the room.
     */
    public void send(KvSender s, int[] srcPages, int firstPage, boolean last, int auxSlot) {
        Messages.TransferInfo info = s.info;
        s.tail = s.tail.thenRunAsync(() -> transfer(s, srcPages, firstPage, last, auxSlot),
                info == null || s.fake ? lanes.common() : lanes.lane(info.decodeWorkerId()));
    }

    private void transfer(KvSender s, int[] srcPages, int firstPage, boolean last, int auxSlot) {
        if (s.status().concluded()) {
            return;
        }
        if (s.fake) {
            if (last) {
                s.update(KvPoll.SUCCESS, null);
            }
            return;
        }
        Messages.TransferInfo info = s.info;
        Messages.KvArgsRegistration reg = info == null ? null : registrations.get(info.decodeWorkerId());
        if (reg == null || !reg.incarnation().equals(info.incarnation())) {
            conclude(s, KvPoll.FAILED, "no destination registered for room " + s.room + " (its decode worker left "
                    + "or restarted)");
            return;
        }
        String failure = pusher.push(s, reg, info, srcPages, firstPage, last, auxSlot);
        if (failure != null) {
            conclude(s, KvPoll.FAILED, failure);
        } else if (last) {
            conclude(s, KvPoll.SUCCESS, null);
        }
    }

    /** Called on the transfer pool, inside the room's chain: no push of this room runs concurrently. */
    private void conclude(KvSender s, KvPoll st, String reason) {
        s.update(st, reason);
        report(s);
    }

    private void report(KvSender s) {
        Messages.TransferInfo info = s.info;
        if (info != null && !s.fake) {
            Messages.TransferStatus st = new Messages.TransferStatus(s.room, s.status(), 0,
                    s.status() == KvPoll.FAILED ? s.failure() : null);
            reported.put(s.room, st);
            notifier.notify(info.decodeWorkerId(), st);
        }
    }

    /** How those of {@code rooms} that concluded here ended, as frame C said (a heartbeat asks; see above). */
    public List<Messages.TransferStatus> reportedOutcomes(List<Long> rooms) {
        List<Messages.TransferStatus> out = new ArrayList<>();
        for (long room : rooms) {
            Messages.TransferStatus st = reported.get(room);
            if (st != null) {
                out.add(st);
            }
        }
        return out;
    }

    /**
     * Fails the room now (abort, timeout, injected failure). The decode side hears of it only after the pushes
     * already queued have stopped (later ones skip), so it never frees pages a push is still writing.
     */
    public void fail(KvSender s, String reason) {
        if (!s.status().concluded()) {
            s.update(KvPoll.FAILED, reason);
            s.tail.whenComplete((v, err) -> report(s));
        }
    }

    /** Forgets a concluded room. */
    public void clear(KvSender s) {
        senders.remove(s.room, s);
    }

    /** Rooms whose decode worker went away: fail them so their KV is freed. */
    public void failDecodeWorker(String decodeWorkerId, String reason) {
        Messages.KvArgsRegistration old;
        synchronized (rooms) {
            old = registrations.remove(decodeWorkerId);
            failRoomsOf(decodeWorkerId, null, reason);
        }
        if (old != null) {
            forgetSegments(old, null);
        }
        lanes.retire(decodeWorkerId); // queued pushes of its failed rooms still run (and skip), then the threads end
    }

    /** Fails the rooms bound for {@code decodeWorkerId} (of incarnation {@code incarnation} only, unless null). */
    private void failRoomsOf(String decodeWorkerId, String incarnation, String reason) {
        for (KvSender s : senders.values()) {
            Messages.TransferInfo info = s.info;
            if (info != null && info.decodeWorkerId().equals(decodeWorkerId)
                    && (incarnation == null || incarnation.equals(info.incarnation()))) {
                fail(s, reason);
            }
        }
        earlyInfos.values().removeIf(i -> i.decodeWorkerId().equals(decodeWorkerId)
                && (incarnation == null || incarnation.equals(i.incarnation())));
    }

    public int activeRooms() {
        return senders.size();
    }

    /** Lanes that exist (one per decode worker pushed to since it last left); for tests and logs. */
    public int lanes() {
        return lanes.count();
    }

    @Override
    public void close() {
        lanes.close();
    }
}
