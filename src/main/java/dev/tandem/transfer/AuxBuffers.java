package dev.tandem.transfer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * SGLang's {@code MetadataBuffers} without hidden states: per slot, the first output token (int32 × 16), its
 * logprob (f32 × 16) and id (int32 × 16), and up to 128 top logprobs with their ids (f32 × 128, int32 × 128), then
 * a sixth buffer of our own, the prefill's {@code cached_tokens} (int32 × 16), so the decode worker's answer reports
 * the prefix-cache hit the prefill had. The buffers lie one after another in one segment, so a slot's rows are six
 * small writes. Element 0 of each 64-byte row is the value; the rest pads to the RDMA minimum, as in SGLang.
 */
public final class AuxBuffers {
    public static final int MAX_TOP = 128;
    static final long[] ROW_BYTES = {64, 64, 64, 4L * MAX_TOP, 4L * MAX_TOP, 64};
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final MemorySegment segment;
    private final int slots;

    public AuxBuffers(MemorySegment segment, int slots) {
        if (segment.byteSize() < bytesFor(slots)) {
            throw new IllegalArgumentException("aux segment of " + segment.byteSize() + " bytes is too small for "
                    + slots + " slots");
        }
        this.segment = segment;
        this.slots = slots;
    }

    public static long bytesFor(int slots) {
        long b = 0;
        for (long r : ROW_BYTES) {
            b += r * slots;
        }
        return b;
    }

    /** Offset of buffer {@code i}'s row for {@code slot}, in a segment of {@code slots} slots. */
    public static long rowOffset(int slots, int buffer, int slot) {
        long off = 0;
        for (int i = 0; i < buffer; i++) {
            off += ROW_BYTES[i] * slots;
        }
        return off + ROW_BYTES[buffer] * slot;
    }

    /** One slot's contents. {@code topIds}/{@code topLogprobs} may be shorter than 128 (the rest reads as -1/NaN). */
    public record Row(int tokenId, float logprob, int[] topIds, float[] topLogprobs, int cachedTokens) {
    }

    public void write(int slot, Row r) {
        check(slot);
        segment.set(I32, rowOffset(slots, 0, slot), r.tokenId());
        segment.set(F32, rowOffset(slots, 1, slot), r.logprob());
        segment.set(I32, rowOffset(slots, 2, slot), r.tokenId());
        for (int i = 0; i < MAX_TOP; i++) {
            boolean has = i < r.topIds().length;
            segment.set(F32, rowOffset(slots, 3, slot) + 4L * i, has ? r.topLogprobs()[i] : Float.NaN);
            segment.set(I32, rowOffset(slots, 4, slot) + 4L * i, has ? r.topIds()[i] : -1);
        }
        segment.set(I32, rowOffset(slots, 5, slot), r.cachedTokens());
    }

    public Row read(int slot) {
        check(slot);
        List<Integer> ids = new ArrayList<>();
        List<Float> lps = new ArrayList<>();
        for (int i = 0; i < MAX_TOP; i++) {
            int id = segment.get(I32, rowOffset(slots, 4, slot) + 4L * i);
            if (id < 0) {
                break;
            }
            ids.add(id);
            lps.add(segment.get(F32, rowOffset(slots, 3, slot) + 4L * i));
        }
        float[] top = new float[lps.size()];
        for (int i = 0; i < top.length; i++) {
            top[i] = lps.get(i);
        }
        return new Row(segment.get(I32, rowOffset(slots, 0, slot)), segment.get(F32, rowOffset(slots, 1, slot)),
                ids.stream().mapToInt(Integer::intValue).toArray(), top, segment.get(I32, rowOffset(slots, 5, slot)));
    }

    /** Write ops that copy local {@code srcSlot}'s rows to a peer's {@code dstSlot} (peer has {@code dstSlots}). */
    public List<WriteOp> copyOps(int srcSlot, int dstSlots, int dstSlot) {
        List<WriteOp> ops = new ArrayList<>();
        for (int b = 0; b < ROW_BYTES.length; b++) {
            ops.add(new WriteOp(segment, rowOffset(slots, b, srcSlot), rowOffset(dstSlots, b, dstSlot), ROW_BYTES[b]));
        }
        return ops;
    }

    public int slots() {
        return slots;
    }

    public MemorySegment segment() {
        return segment;
    }

    private void check(int slot) {
        if (slot < 0 || slot >= slots) {
            throw new IndexOutOfBoundsException("aux slot " + slot + " of " + slots);
        }
    }
}
