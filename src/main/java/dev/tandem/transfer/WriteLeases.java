package dev.tandem.transfer;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * The prefill side's write leases, one per decode worker. While this worker holds a lease (from the moment it asked,
 * for {@link KvReceiverManager#LEASE_NANOS}) it may write into that decode worker's pages; the decode worker frees a
 * room it gave up on without an acknowledgement only once every lease it granted has run out. So a prefill worker
 * that was frozen (SIGSTOP, a long pause) and declared dead cannot write, when it resumes, into pages handed to
 * another room: its lease has expired, and the renewal reaches a decode worker that aborts the rooms it gave up on
 * first.
 */
public final class WriteLeases {
    /** Asks a decode worker for a lease (the bus adapter implements it). */
    @FunctionalInterface
    public interface Client {
        CompletionStage<Void> lease(String decodeWorkerId);

        /** No fencing (single-process tests and benchmarks, where no peer can be declared dead). */
        Client UNFENCED = id -> CompletableFuture.completedFuture(null);
    }

    private static final long REQUEST_TIMEOUT_MS = 3000;
    private final Client client;
    private final LongSupplier clock;
    /** Per decode worker: until when (clock) our lease lets us write into its pages. */
    private final Map<String, Long> until = new ConcurrentHashMap<>();

    WriteLeases(Client client, LongSupplier clock) {
        this.client = client;
        this.clock = clock;
    }

    /**
     * Null when we hold a lease from {@code decodeWorkerId} with at least half of it left (renewing it, waiting at
     * most {@value #REQUEST_TIMEOUT_MS} ms on the calling push lane, if not); else why we may not write.
     */
    String hold(String decodeWorkerId) {
        Long u = until.get(decodeWorkerId);
        if (u != null && u - clock.getAsLong() > KvReceiverManager.LEASE_NANOS / 2) {
            return null;
        }
        long asked = clock.getAsLong(); // the lease counts from before the request: a late reply only shortens it
        try {
            client.lease(decodeWorkerId).toCompletableFuture().get(REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            until.merge(decodeWorkerId, asked + KvReceiverManager.LEASE_NANOS, Math::max);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while asking decode worker " + decodeWorkerId + " for a write lease";
        } catch (ExecutionException | TimeoutException e) {
            return "no write lease from decode worker " + decodeWorkerId + " (" + (e instanceof TimeoutException
                    ? "no answer within " + REQUEST_TIMEOUT_MS + " ms" : String.valueOf(e.getCause().getMessage())) + ")";
        }
    }
}
