package dev.tandem.transfer.nixl;

import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpMemMapParams;
import org.openucx.jucx.ucp.UcpMemory;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * An agent's memory: the regions it registered (NIXL's {@code register_memory}) and the memory its UCX context
 * allocated itself ({@code ucp_mem_map} with ALLOCATE) for the KV pool and aux rows. UCX 1.13 allocates from sysv
 * shared memory first (then posix, then plain pages: {@code UCX_MEM_ALLOC_METHOD}), so the key it packs holds
 * sysv/posix keys and a peer agent on this host puts and gets with a plain copy into the mapped segment; memory UCX
 * only registers has no such key, and one-sided operations on it are emulated with active messages. UCX marks the
 * sysv segment for removal as soon as it is attached, so it dies with the last process mapping it, however that
 * process dies. A region registered on an allocation shares the allocation's mapping. Under the agent lock only.
 */
final class Memories {
    private final UcpContext context;
    private final Map<String, UcpMemory> regions = new HashMap<>();      // some are allocations' (not owned)
    private final Map<Long, UcpMemory> allocations = new HashMap<>();    // by address

    Memories(UcpContext context) {
        this.context = context;
    }

    /** Registers {@code segment} as {@code region}: the allocation it starts, or a new registration of it. */
    UcpMemory register(String region, MemorySegment segment) {
        if (regions.containsKey(region)) {
            throw new IllegalStateException("nixl: region '" + region + "' is already registered");
        }
        UcpMemory m = allocation(segment.address(), segment.byteSize()); // UCX's own memory: its own key
        if (m == null) {
            m = context.memoryMap(new UcpMemMapParams().setAddress(segment.address()).setLength(segment.byteSize()));
            Live.REGISTRATIONS.incrementAndGet();
        }
        regions.put(region, m);
        return m;
    }

    UcpMemory region(String region) {
        return regions.get(region);
    }

    /** {@code bytes} of memory UCX allocated (and registered); its address. */
    long allocate(long bytes) {
        UcpMemory m = context.memoryMap(new UcpMemMapParams().allocate().setLength(bytes));
        Live.ALLOCATIONS.incrementAndGet();
        allocations.put(m.getAddress(), m);
        return m.getAddress();
    }

    /** Unmaps the allocation at {@code address}, forgetting the regions on it; false if there is none. */
    boolean free(long address) {
        UcpMemory m = allocations.remove(address);
        if (m == null) {
            return false;
        }
        regions.values().removeIf(r -> r == m);
        m.deregister();
        Live.ALLOCATIONS.decrementAndGet();
        return true;
    }

    /** Deregisters every region and unmaps every allocation. */
    void releaseAll() {
        for (UcpMemory m : regions.values()) {
            if (allocations.get(m.getAddress()) != m) {
                m.deregister();
                Live.REGISTRATIONS.decrementAndGet();
            }
        }
        regions.clear();
        for (Long a : allocations.keySet().toArray(new Long[0])) {
            free(a);
        }
    }

    private UcpMemory allocation(long address, long bytes) {
        UcpMemory m = allocations.get(address);
        return m != null && bytes <= m.getLength() ? m : null;
    }
}
