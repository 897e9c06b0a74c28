package dev.tandem.hicache;

import dev.tandem.kvcache.KvPool;

import java.util.regex.Pattern;

/**
 * What a stored page means: the model and the KV pool's shape. Its {@link #suffix()} ends every storage key, so a
 * page written under one layout is never read under another.
 *
 * @param model     the served model name (anything; reduced to file-name-safe characters in the suffix)
 * @param layers    transformer layers
 * @param pageSize  tokens per page
 * @param slotBytes bytes of one token's K (or V) in one layer: kvHeads * headDim * element size
 */
public record KvLayout(String model, int layers, int pageSize, long slotBytes) {
    private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9.-]");

    public KvLayout {
        if (model == null || model.isEmpty() || layers < 1 || pageSize < 1 || slotBytes < 1) {
            throw new IllegalArgumentException("KV layout needs a model name and positive sizes, got " + model + ", "
                    + layers + ", " + pageSize + ", " + slotBytes);
        }
    }

    public static KvLayout of(String model, KvPool pool) {
        return new KvLayout(model, pool.numLayers(), pool.pageSize(), pool.slotBytes());
    }

    /** Bytes of one page in one region (one layer's K or V). */
    public long regionPageBytes() {
        return slotBytes * pageSize;
    }

    /** Bytes of one stored page: {@code [2 * layers, regionPageBytes]}, K and V of layer l at rows 2l and 2l+1. */
    public long pageBytes() {
        return 2L * layers * regionPageBytes();
    }

    /** {@code <model>-L<layers>-P<pageSize>-S<slotBytes>}: file-name safe, no underscore (the key separator). */
    public String suffix() {
        String m = UNSAFE.matcher(model).replaceAll("-");
        if (!m.equals(model) || m.length() > 64) {
            // two names that clean up to the same text still get different suffixes
            String h = PageKeys.hashes(model.chars().toArray(), 1, 1).getFirst().substring(0, 8);
            m = m.substring(0, Math.min(m.length(), 48)) + "-" + h;
        }
        return m + "-L" + layers + "-P" + pageSize + "-S" + slotBytes;
    }
}
