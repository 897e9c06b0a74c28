package dev.tandem.transfer;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The write ops that copy KV pages from a local pool segment to a peer's: page runs that are consecutive on both
 * sides become one op per layer and K/V (SGLang's {@code group_concurrent_contiguous}).
 */
public final class PageCopyPlan {
    private PageCopyPlan() {
    }

    public static List<WriteOp> ops(MemorySegment src, KvLayout srcLayout, int[] srcPages, KvLayout dstLayout,
                                    int[] dstPages) {
        if (srcPages.length != dstPages.length) {
            throw new IllegalArgumentException(srcPages.length + " source pages but " + dstPages.length
                    + " destination pages");
        }
        if (srcLayout.pageBytes() != dstLayout.pageBytes() || srcLayout.numLayers() != dstLayout.numLayers()) {
            throw new IllegalArgumentException("KV layouts differ: " + srcLayout + " vs " + dstLayout);
        }
        List<WriteOp> ops = new ArrayList<>();
        int i = 0;
        while (i < srcPages.length) {
            int run = 1;
            while (i + run < srcPages.length && srcPages[i + run] == srcPages[i] + run
                    && dstPages[i + run] == dstPages[i] + run) {
                run++;
            }
            long len = run * srcLayout.pageBytes();
            for (int l = 0; l < srcLayout.numLayers(); l++) {
                for (boolean value : new boolean[] {false, true}) {
                    ops.add(new WriteOp(src, srcLayout.offset(l, value, srcPages[i]),
                            dstLayout.offset(l, value, dstPages[i]), len));
                }
            }
            i += run;
        }
        return ops;
    }
}
