package dev.tandem.transfer;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The decode worker's side of KV transfer: registers its KV and aux memory once per prefill peer (frame A), sends
 * each room's destination (frame B), and turns the peer's reports (frame C), dead peers and timeouts into receiver
 * states. The bus adapter implements {@link BootstrapClient} and calls {@link #onStatus} and
 * {@link #failAddress}.
 */
public final class KvReceiverManager {
    /**
     * Talks to a prefill worker's bootstrap service. Registration and transfer infos complete with the prefill
     * worker's incarnation (new at each of its starts), which is how a restart on the same address is noticed.
     */
    public interface BootstrapClient {
        CompletionStage<String> register(String bootstrapAddress, Messages.KvArgsRegistration registration);

        CompletionStage<String> sendTransferInfo(String bootstrapAddress, Messages.TransferInfo info);

        /** Completes with true when the prefill side has nothing writing into the room's pages. */
        CompletionStage<Boolean> abortRoom(String bootstrapAddress, Messages.AbortRoom abort);
    }

    /** How long a write lease lets a prefill worker write into our pages, counted from before it asked. */
    public static final long LEASE_NANOS = 10_000_000_000L;

    private final Messages.KvArgsRegistration self;
    /** Per prefill bootstrap address: when (clock) we last granted it a write lease. */
    private final Map<String, Long> lastGrant = new ConcurrentHashMap<>();
    /** A write begun under a lease ends (or fails) within the transfer deadline: fenced pages wait that too. */
    private final long writeDeadlineNanos;
    private final BootstrapClient client;
    private final long waitingTimeoutNanos;
    private final double failureProb;
    /** Per prefill address: our registration with it, completing with the incarnation that accepted it. */
    private final Map<String, CompletableFuture<String>> registered = new ConcurrentHashMap<>();
    private final Map<Long, KvReceiver> receivers = new ConcurrentHashMap<>();
    /** Nanoseconds, as {@link System#nanoTime()}; tests drive timeouts with a clock of their own. */
    private final java.util.function.LongSupplier clock;

    public KvReceiverManager(Messages.KvArgsRegistration self, BootstrapClient client, long waitingTimeoutNanos,
                             double failureProb) {
        this(self, client, waitingTimeoutNanos, failureProb, System::nanoTime);
    }

    /** As above, judging the waiting timeout by {@code clock} (nanoseconds). */
    public KvReceiverManager(Messages.KvArgsRegistration self, BootstrapClient client, long waitingTimeoutNanos,
                             double failureProb, java.util.function.LongSupplier clock) {
        this(self, client, waitingTimeoutNanos, failureProb, clock, 30_000_000_000L);
    }

    /** As above; {@code writeDeadlineNanos} is the transfer deadline ({@code --transfer-io-timeout}). */
    public KvReceiverManager(Messages.KvArgsRegistration self, BootstrapClient client, long waitingTimeoutNanos,
                             double failureProb, java.util.function.LongSupplier clock, long writeDeadlineNanos) {
        this.writeDeadlineNanos = writeDeadlineNanos;
        this.clock = clock;
        this.self = self;
        this.client = client;
        this.waitingTimeoutNanos = waitingTimeoutNanos;
        this.failureProb = failureProb;
    }

    public String workerId() {
        return self.decodeWorkerId();
    }

    /** A receiver for {@code room}; starts (or reuses) the registration with the prefill worker at {@code b}. */
    public KvReceiver create(Bootstrap b) {
        KvReceiver r = new KvReceiver(b.room(), b.address(), b.fake());
        if (r.fake) { // untracked: fake rooms may repeat
            r.update(KvPoll.WAITING_FOR_INPUT, null);
            return r;
        }
        if (receivers.putIfAbsent(b.room(), r) != null) {
            throw new IllegalStateException("room " + b.room() + " is already in use on this decode worker");
        }
        r.peer = registration(r.address);
        r.peer.whenComplete((v, err) -> {
            if (err != null) {
                r.update(KvPoll.FAILED, "cannot register with prefill worker at " + r.address + ": "
                        + rootMessage(err));
            } else {
                r.update(KvPoll.WAITING_FOR_INPUT, null);
            }
        });
        return r;
    }

    /** Our registration with the prefill worker at {@code address}: made once, made again after it failed. */
    private CompletableFuture<String> registration(String address) {
        CompletableFuture<String> reg = registered.computeIfAbsent(address,
                a -> client.register(a, self).toCompletableFuture());
        reg.whenComplete((v, err) -> {
            if (err != null) {
                registered.remove(address, reg);
            }
        });
        return reg;
    }

    /** Hands the room's destination pages (in prompt order) and aux slot to the prefill side. */
    public void init(KvReceiver r, int[] dstPages, int auxSlot) {
        r.initNanos = clock.getAsLong();
        if (r.fake) {
            r.update(KvPoll.SUCCESS, null);
            return;
        }
        r.quiet = false;
        r.handedOver = true;
        client.sendTransferInfo(r.address, new Messages.TransferInfo(r.room, self.decodeWorkerId(), dstPages,
                auxSlot, 1, self.incarnation())).whenComplete((incarnation, err) -> {
                    if (err != null) {
                        r.update(KvPoll.FAILED, "cannot reach prefill worker at " + r.address + ": "
                                + rootMessage(err));
                        r.fenced = true; // it may have got our pages all the same (a lost reply)
                    } else {
                        onInfoAnswered(r, incarnation);
                    }
                });
    }

    /**
     * The prefill worker took the room's info as {@code incarnation}. If it restarted since our registration, the
     * new process holds the info until we register with it (the room goes on), while the rooms of its previous life
     * fail.
     */
    private void onInfoAnswered(KvReceiver r, String incarnation) {
        CompletableFuture<String> known = r.peer;
        if (known == null || !known.isDone() || known.isCompletedExceptionally() || incarnation == null
                || known.join().equals(incarnation)) {
            onPeerIncarnation(r.address, incarnation);
            return;
        }
        r.peer = null; // not a room of the previous life
        onPeerIncarnation(r.address, incarnation);
        r.peer = registration(r.address);
        r.peer.whenComplete((v, err) -> {
            if (err != null) {
                abort(r, "cannot register again with restarted prefill worker at " + r.address + ": "
                        + rootMessage(err));
            }
        });
    }

    /**
     * A prefill worker answered as {@code incarnation} (a heartbeat, a transfer info). If that is not the
     * incarnation our registration reached, the worker restarted on the same address: the rooms of its previous
     * life fail at once (that process is gone, so nothing writes into their pages any more) and the next room
     * registers afresh, instead of waiting for the waiting timeout.
     */
    public void onPeerIncarnation(String address, String incarnation) {
        CompletableFuture<String> reg = registered.get(address);
        if (reg == null || !reg.isDone() || reg.isCompletedExceptionally() || incarnation == null) {
            return;
        }
        String known = reg.join();
        if (!known.equals(incarnation) && registered.remove(address, reg)) {
            String reason = "prefill worker at " + address + " restarted (incarnation " + known + " -> " + incarnation
                    + "); its rooms are lost";
            for (KvReceiver r : receivers.values()) {
                if (r.peer == reg && r.status() != KvPoll.SUCCESS) {
                    r.update(KvPoll.FAILED, reason);
                    r.quiet = true;
                }
            }
        }
    }

    /**
     * A prefill worker asks for a write lease (before pushing, whenever less than half of its last one is left).
     * Granted always; the time is noted so rooms given up on without its word wait out the lease. A peer asking is a
     * peer reachable again: rooms given up on while it was not are aborted properly, so their pages come back on
     * its acknowledgement rather than at the lease's end.
     */
    public void onLeaseRequest(String address) {
        lastGrant.merge(address, clock.getAsLong(), Math::max);
        for (KvReceiver r : receivers.values()) {
            if (r.address.equals(address) && r.fenced && !r.quiet && r.abortAgain) {
                r.abortAgain = false;
                r.abortSent = true;
                sendAbort(r, r.failure());
            }
        }
    }

    /** The receiver's status, applying the waiting timeout, the end of a fence and the failure-injection knob. */
    public KvReceiver poll(KvReceiver r) {
        if (r.fenced && !r.quiet) {
            Long granted = lastGrant.get(r.address);
            if (granted == null || clock.getAsLong() - granted > LEASE_NANOS + writeDeadlineNanos) {
                r.quiet = true; // every lease it held has run out, and a write begun under one has ended
            }
        }
        KvPoll st = r.status();
        if (!r.quiet && !r.abortSent && r.initNanos > 0 && clock.getAsLong() - r.initNanos > waitingTimeoutNanos) {
            // Not quiet yet: the prefill side may still be pushing. It is told, and the pages stay reserved until it
            // confirms that nothing of this room is in flight (or cannot be reached).
            abort(r, "Request " + r.room + " timed out after " + waitingTimeoutNanos / 1_000_000_000
                    + "s waiting for its KV cache");
        } else if (!st.concluded() && !r.fake && failureProb > 0
                && ThreadLocalRandom.current().nextDouble() < failureProb) {
            abort(r, "injected failure (failure_prob " + failureProb + ")"); // health checks (fake rooms) spared
        }
        return r;
    }

    /** Frame C from a prefill worker. */
    public void onStatus(Messages.TransferStatus s) {
        KvReceiver r = receivers.get(s.room());
        if (r == null) {
            return; // aborted or finished meanwhile
        }
        if (s.status() == KvPoll.SUCCESS) {
            r.update(KvPoll.SUCCESS, null);
        } else {
            r.update(KvPoll.FAILED, "Failed to get kvcache from prefill instance, it might be dead: " + s.reason());
        }
        r.quiet = true;
    }

    /** The heartbeat gave up on a prefill worker: every unfinished room it serves fails. */
    public void failAddress(String address, String reason) {
        registered.remove(address);
        for (KvReceiver r : receivers.values()) {
            if (r.address.equals(address) && r.status() != KvPoll.SUCCESS) {
                r.update(KvPoll.FAILED, reason);
                if (!r.quiet) {
                    r.fenced = true; // it may be frozen, not dead: its pages wait until its leases ran out
                    r.abortAgain = true; // and it is told when it asks for a lease again
                }
            }
        }
    }

    /** The rooms in flight with the prefill worker at {@code address} (a heartbeat asks how they ended). */
    public java.util.List<Long> roomsInFlight(String address) {
        java.util.List<Long> out = new java.util.ArrayList<>();
        for (KvReceiver r : receivers.values()) {
            if (!r.fake && r.address.equals(address) && (!r.status().concluded() || !r.quiet)) {
                out.add(r.room);
            }
        }
        return out;
    }

    /** Prefill workers with rooms in flight (what the heartbeat watches). */
    public Set<String> activeAddresses() {
        Set<String> out = ConcurrentHashMap.newKeySet();
        for (KvReceiver r : receivers.values()) {
            if (!r.fake && (!r.status().concluded() || !r.quiet)) { // unfinished, or its pages not yet ours again
                out.add(r.address);
            }
        }
        return out;
    }

    public void clear(KvReceiver r) {
        receivers.remove(r.room, r);
    }

    /**
     * Gives up on the room at once. After {@code init} the prefill side is told, and the receiver turns
     * {@link KvReceiver#quiet()} when it confirms (or, if it cannot be reached, once its write leases ran out), so
     * our pages are not freed under a push. Before {@code init} it is told too, without waiting for its answer
     * (nothing of ours can be written): it may hold the room's request already, or get it next, and would otherwise
     * end it only at its bootstrap timeout, where an abort a moment later (after {@code init}) ends it at once.
     */
    public void abort(KvReceiver r, String reason) {
        r.update(KvPoll.FAILED, reason);
        if (r.fake || r.abortSent) {
            return;
        }
        if (!r.handedOver) {
            r.abortSent = true;
            client.abortRoom(r.address, new Messages.AbortRoom(r.room, reason)); // its answer changes nothing here
            return;
        }
        if (r.quiet) {
            return;
        }
        r.abortSent = true;
        sendAbort(r, reason);
    }

    private void sendAbort(KvReceiver r, String reason) {
        client.abortRoom(r.address, new Messages.AbortRoom(r.room, reason)).whenComplete((quietNow, err) -> {
            if (err != null) {
                r.fenced = true; // unreachable (or only its answer was lost): wait out its leases, or ask again
                r.abortAgain = true;
            } else if (Boolean.TRUE.equals(quietNow)) {
                r.quiet = true; // it never started this room: nothing will come
            }
        });
    }

    public int activeRooms() {
        return receivers.size();
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
