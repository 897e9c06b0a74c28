package dev.tandem.transfer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The threads a prefill worker's KV pushes run on, so the scheduler thread never waits on a copy or a socket: one
 * lane of {@code threads} threads per decode worker — a peer that stops reading holds only its own lane (each write
 * has a deadline) while pushes to every other peer go on — and a common pool for rooms with no destination yet, fake
 * rooms, and forgetting a peer's segments (which waits for its writes in flight). Owns every thread it starts.
 */
final class SendLanes implements AutoCloseable {
    private final ExecutorService common;
    private final Map<String, ExecutorService> lanes = new ConcurrentHashMap<>();
    private final int threads;
    private volatile boolean closed;

    SendLanes(int threads) {
        this.threads = threads;
        this.common = Executors.newFixedThreadPool(threads, Thread.ofPlatform().daemon()
                .name("tandem-kv-send-", 0).factory());
    }

    /** The common pool. */
    ExecutorService common() {
        return common;
    }

    /** The lane of {@code decodeWorkerId}, started on first use. */
    ExecutorService lane(String decodeWorkerId) {
        if (closed) {
            return common; // rejects: the room fails like any push after close
        }
        return lanes.computeIfAbsent(decodeWorkerId, id -> Executors.newFixedThreadPool(threads,
                Thread.ofPlatform().daemon().name("tandem-kv-send-" + id.replaceAll("[^A-Za-z0-9._:-]", "_") + "-", 0)
                        .factory()));
    }

    /** The decode worker left: its lane ends once the pushes queued on it have run (their rooms failed: they skip). */
    void retire(String decodeWorkerId) {
        ExecutorService lane = lanes.remove(decodeWorkerId);
        if (lane != null) {
            lane.shutdown();
        }
    }

    /** Lanes that exist (one per decode worker pushed to since it last left). */
    int count() {
        return lanes.size();
    }

    @Override
    public void close() {
        closed = true;
        lanes.values().forEach(ExecutorService::shutdownNow);
        lanes.clear();
        common.shutdownNow();
    }
}
