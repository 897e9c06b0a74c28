package dev.tandem.transfer.nixl;

import dev.tandem.kvcache.KvMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The nixl backend's {@link KvMemory}: blocks that the agent's UCX context allocates ({@link Allocations}), so that a
 * peer agent on this host moves KV with a plain copy into them rather than with emulated puts. Each block's segment
 * belongs to an arena of its own: closing the block closes the arena (the segment and its slices become invalid, so
 * a late access throws instead of touching unmapped memory), then unmaps on the agent's thread. Closing the engine
 * closes the arenas of blocks still open before its agent unmaps them.
 */
final class UcxKvMemory implements KvMemory {
    private final NixlAgent agent;
    private final long deadlineNanos;
    private final Set<Arena> open = ConcurrentHashMap.newKeySet();

    UcxKvMemory(NixlAgent agent, long deadlineNanos) {
        this.agent = agent;
        this.deadlineNanos = deadlineNanos;
    }

    @Override
    public Block allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("nixl: cannot allocate " + bytes + " bytes");
        }
        long address = NixlTransferEngine.await(agent.allocate(bytes), TimeUnit.SECONDS.toNanos(30),
                "allocate " + bytes + " bytes");
        Arena arena = Arena.ofShared();
        open.add(arena);
        MemorySegment s = MemorySegment.ofAddress(address).reinterpret(bytes, arena, null);
        s.fill((byte) 0); // zeroed as the other KvMemory kinds are (UCX's last fallback, the heap, is not)
        return KvMemory.block(s, null, () -> {
            if (open.remove(arena)) {
                arena.close();
            }
            try {
                agent.free(address).get(deadlineNanos, TimeUnit.NANOSECONDS);
            } catch (ExecutionException closed) {
                // the agent is closed: it unmapped everything it had allocated
            } catch (TimeoutException | InterruptedException e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                // the agent unmaps it when it closes
            }
        });
    }

    /** Invalidates the segments of blocks still open (their memory is unmapped when the agent closes next). */
    void invalidateAll() {
        for (Arena a : open.toArray(new Arena[0])) {
            if (open.remove(a)) {
                a.close();
            }
        }
    }
}
