package dev.tandem.kvcache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The paged KV memory: per layer one K region and one V region, each {@code [pages, pageSize, kvHeads, headDim]}
 * of F32, off-heap. A token slot {@code s = page * pageSize + offsetInPage} starts at byte {@code s * slotBytes()}
 * of a region, so page {@code p} is the contiguous range {@code [p * pageBytes(), (p + 1) * pageBytes())}: the unit the
 * transfer layer moves. Owns its memory; {@link #close()} frees it.
 */
public final class KvPool implements AutoCloseable {
    private final Arena arena;
    private final int numPages;
    private final int pageSize;
    private final int numLayers;
    private final int kvDim;
    private final MemorySegment[] k; // (layer) -> [pages, pageSize, kvHeads, headDim]
    private final MemorySegment[] v; // (layer) -> [pages, pageSize, kvHeads, headDim]

    public KvPool(int numLayers, int numPages, int pageSize, int kvHeads, int headDim) {
        if (numPages <= 0 || pageSize <= 0) {
            throw new IllegalArgumentException("KV pool needs pages > 0 and page_size > 0, got pages=" + numPages
                    + " page_size=" + pageSize);
        }
        this.numPages = numPages;
        this.pageSize = pageSize;
        this.numLayers = numLayers;
        this.kvDim = kvHeads * headDim;
        this.arena = Arena.ofShared();
        this.k = new MemorySegment[numLayers];
        this.v = new MemorySegment[numLayers];
        long regionBytes = (long) numPages * pageSize * kvDim * Float.BYTES;
        for (int l = 0; l < numLayers; l++) {
            k[l] = arena.allocate(regionBytes, 64);
            v[l] = arena.allocate(regionBytes, 64);
        }
    }

    public MemorySegment keys(int layer) {
        return k[layer];
    }

    public MemorySegment values(int layer) {
        return v[layer];
    }

    /** Stores one token's K and V ({@code kvDim} floats each, from {@code src[off..]}) at {@code slot} of {@code layer}. */
    public void write(int layer, int slot, float[] kSrc, int kOff, float[] vSrc, int vOff) {
        long at = (long) slot * kvDim;
        MemorySegment.copy(kSrc, kOff, k[layer], ValueLayout.JAVA_FLOAT, at * Float.BYTES, kvDim);
        MemorySegment.copy(vSrc, vOff, v[layer], ValueLayout.JAVA_FLOAT, at * Float.BYTES, kvDim);
    }

    public int numPages() {
        return numPages;
    }

    public int pageSize() {
        return pageSize;
    }

    public int numLayers() {
        return numLayers;
    }

    /** Floats per token slot: kvHeads * headDim. */
    public int kvDim() {
        return kvDim;
    }

    public long slotBytes() {
        return (long) kvDim * Float.BYTES;
    }

    public long pageBytes() {
        return slotBytes() * pageSize;
    }

    /** Bytes of K plus V over all layers. */
    public long totalBytes() {
        return 2L * numLayers * numPages * pageBytes();
    }

    @Override
    public void close() {
        arena.close();
    }
}
