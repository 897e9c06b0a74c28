package dev.tandem.kvcache;

import dev.tandem.config.KvDtype;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * The paged KV memory: per layer one K region and one V region, each {@code [pages, pageSize, kvHeads, headDim]}
 * of F32 or BF16 ({@link KvDtype}, little-endian), off-heap. A token slot {@code s = page * pageSize + offsetInPage}
 * starts at byte {@code s * slotBytes()} of a region, so page {@code p} is the contiguous range
 * {@code [p * pageBytes(), (p + 1) * pageBytes())}: the unit the transfer layer moves (its length follows the
 * dtype: nothing downstream assumes 4-byte elements). All regions live in one segment, in SGLang's order (K of layers 0..L-1, then V of layers
 * 0..L-1). Where that segment comes from is a {@link KvMemory} chosen at start-up: this process's memory, a file
 * under {@code /dev/shm} that a peer on the same host can map, or memory the transfer backend allocated (nixl). Owns
 * its block of that memory; {@link #close()} gives it back through the allocator that made it.
 */
public final class KvPool implements AutoCloseable {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private final KvMemory.Block memory; // holds `all`
    private final int numPages;
    private final int pageSize;
    private final int numLayers;
    private final int kvDim;
    private final KvDtype dtype;
    private final MemorySegment[] k; // (layer) -> [pages, pageSize, kvHeads, headDim]
    private final MemorySegment[] v; // (layer) -> [pages, pageSize, kvHeads, headDim]

    private final MemorySegment all;    // [K layer 0..L-1, V layer 0..L-1]
    private final long regionBytes;

    public KvPool(int numLayers, int numPages, int pageSize, int kvHeads, int headDim) {
        this(numLayers, numPages, pageSize, kvHeads, headDim, null);
    }

    /** @param shmFile when not null, the pool is this file (created, sized, mapped, deleted on close) */
    public KvPool(int numLayers, int numPages, int pageSize, int kvHeads, int headDim, Path shmFile) {
        this(numLayers, numPages, pageSize, kvHeads, headDim, shmFile, KvDtype.FLOAT32);
    }

    /** As above, storing K and V as {@code dtype}. */
    public KvPool(int numLayers, int numPages, int pageSize, int kvHeads, int headDim, Path shmFile,
                  KvDtype dtype) {
        this(shmFile == null ? KvMemory.NATIVE : KvMemory.shmFile(shmFile), numLayers, numPages, pageSize, kvHeads,
                headDim, dtype);
    }

    /** As above, in a block of {@code memory} (which the pool frees on close). */
    public KvPool(KvMemory memory, int numLayers, int numPages, int pageSize, int kvHeads, int headDim,
                  KvDtype dtype) {
        if (numPages <= 0 || pageSize <= 0) {
            throw new IllegalArgumentException("KV pool needs pages > 0 and page_size > 0, got pages=" + numPages
                    + " page_size=" + pageSize);
        }
        this.numPages = numPages;
        this.pageSize = pageSize;
        this.numLayers = numLayers;
        this.kvDim = kvHeads * headDim;
        this.dtype = dtype;
        this.k = new MemorySegment[numLayers];
        this.v = new MemorySegment[numLayers];
        this.regionBytes = (long) numPages * pageSize * kvDim * dtype.bytes();
        long total = 2 * regionBytes * numLayers;
        this.memory = memory.allocate(total);
        all = this.memory.segment();
        for (int l = 0; l < numLayers; l++) {
            k[l] = all.asSlice(l * regionBytes, regionBytes);
            v[l] = all.asSlice((numLayers + l) * regionBytes, regionBytes);
        }
    }

    /** The whole pool as one segment (what the transfer engine registers). */
    public MemorySegment segment() {
        return all;
    }

    /** The backing {@code /dev/shm} file, or null. */
    public Path file() {
        return memory.file();
    }

    /** Offset in {@link #segment()} of layer {@code layer}'s K ({@code value == false}) or V region. */
    public long regionOffset(int layer, boolean value) {
        return ((value ? numLayers : 0) + (long) layer) * regionBytes;
    }

    public MemorySegment keys(int layer) {
        return k[layer];
    }

    public MemorySegment values(int layer) {
        return v[layer];
    }

    /**
     * Stores one token's K and V ({@code kvDim} floats each, from {@code src[off..]}) at {@code slot} of {@code layer},
     * rounded to the pool's dtype.
     */
    public void write(int layer, int slot, float[] kSrc, int kOff, float[] vSrc, int vOff) {
        long at = (long) slot * kvDim;
        if (dtype == KvDtype.FLOAT32) {
            MemorySegment.copy(kSrc, kOff, k[layer], F32, at * Float.BYTES, kvDim);
            MemorySegment.copy(vSrc, vOff, v[layer], F32, at * Float.BYTES, kvDim);
            return;
        }
        MemorySegment ks = k[layer];
        MemorySegment vs = v[layer];
        for (int d = 0; d < kvDim; d++) {
            ks.setAtIndex(BF16, at + d, KvDtype.toBf16(kSrc[kOff + d]));
            vs.setAtIndex(BF16, at + d, KvDtype.toBf16(vSrc[vOff + d]));
        }
    }

    /** Element {@code index} of a K or V region of this pool, widened to float (exact for either dtype). */
    public float get(MemorySegment region, long index) {
        return dtype == KvDtype.FLOAT32 ? region.getAtIndex(F32, index)
                : KvDtype.fromBf16(region.getAtIndex(BF16, index));
    }

    /** How K and V are stored. */
    public KvDtype dtype() {
        return dtype;
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

    /** Elements per token slot: kvHeads * headDim. */
    public int kvDim() {
        return kvDim;
    }

    /** Bytes of one token's K (or V) in one layer: kvDim times the dtype's element size. */
    public long slotBytes() {
        return (long) kvDim * dtype.bytes();
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
        memory.close(); // frees the arena, unmaps and deletes the shm file, or hands the block back to its backend
    }
}
