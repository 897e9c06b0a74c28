package dev.tandem.hicache;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The L3 tier: pages kept outside the worker (a directory, a cluster map), shared by workers and surviving
 * restarts. SGLang's {@code HiCacheStorage} operations, including {@code delete} and {@code clear}, which its NIXL
 * storage lacks. Keys come from {@link PageKeys#keys}; a value is one page of {@link KvLayout#pageBytes()} bytes.
 * A page that cannot be read back exactly as written (missing, truncated, damaged) is a miss, never wrong data.
 * Implementations are thread-safe: the tier's I/O runs off the scheduler thread.
 */
public interface HiCacheStorage extends AutoCloseable {

    /** Reads {@code key} into {@code target} (exactly its size); false on a miss or a damaged page. */
    boolean get(String key, MemorySegment target);

    /** Stores {@code value} under {@code key}; false when it could not be stored (too large, I/O error). */
    boolean set(String key, MemorySegment value);

    boolean exists(String key);

    /** Removes {@code key}; false when it was not there. */
    boolean delete(String key);

    /** Removes every page of this storage. */
    void clear();

    /** Per key: whether {@code targets[i]} now holds its page. */
    default boolean[] batchGet(List<String> keys, List<MemorySegment> targets) {
        if (keys.size() != targets.size()) {
            throw new IllegalArgumentException(keys.size() + " keys but " + targets.size() + " targets");
        }
        boolean[] out = new boolean[keys.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = get(keys.get(i), targets.get(i));
        }
        return out;
    }

    /** Stores every pair; true when all were stored. */
    default boolean batchSet(List<String> keys, List<MemorySegment> values) {
        if (keys.size() != values.size()) {
            throw new IllegalArgumentException(keys.size() + " keys but " + values.size() + " values");
        }
        boolean all = true;
        for (int i = 0; i < keys.size(); i++) {
            all &= set(keys.get(i), values.get(i));
        }
        return all;
    }

    /** How many of {@code keys}, from the first, exist (SGLang's {@code batch_exists}: the leading hits). */
    default int batchExists(List<String> keys) {
        int n = 0;
        while (n < keys.size() && exists(keys.get(n))) {
            n++;
        }
        return n;
    }

    /** Pages stored and their bytes, as far as this process knows. */
    Usage usage();

    record Usage(long pages, long bytes) {
    }

    @Override
    void close();
}
