package dev.tandem.hicache;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The map backend over a plain concurrent map (the cluster's map in production): round trips, leading hits, a
 * damaged value, a value stored under another key and a value of another size as misses (and removed), delete and
 * clear.
 */
class MapStorageTest {
    private static final int PAGE = 512;
    private final Arena arena = Arena.ofAuto();

    /** A {@link PageMap} over a {@link ConcurrentHashMap}. */
    static class LocalMap implements PageMap {
        final ConcurrentHashMap<String, byte[]> m = new ConcurrentHashMap<>();

        @Override
        public byte[] get(String key) {
            return m.get(key);
        }

        @Override
        public void set(String key, byte[] value) {
            m.put(key, value);
        }

        @Override
        public boolean containsKey(String key) {
            return m.containsKey(key);
        }

        @Override
        public boolean delete(String key) {
            return m.remove(key) != null;
        }

        @Override
        public void clear() {
            m.clear();
        }

        @Override
        public long size() {
            return m.size();
        }
    }

    private MemorySegment page(int seed) {
        MemorySegment s = arena.allocate(PAGE);
        for (int i = 0; i < PAGE; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (seed * 17 + i));
        }
        return s;
    }

    @Test
    void statsNeverThrowWhenTheClusterIsGone() {
        LocalMap gone = new LocalMap() {
            @Override
            public long size() {
                throw new IllegalStateException("Hazelcast instance is not active");
            }
        };
        try (var pool = new dev.tandem.kvcache.KvPool(1, 2, 4, 1, 4);
             HiCache hi = new HiCache(dev.tandem.config.HiCacheConfig.OFF, new KvLayout("m", 1, 4, 16), pool,
                     new HostTier(2L * 4 * 16, 4), new MapStorage(gone, 2L * 4 * 16))) {
            assertEquals(0, hi.stats().storagePages(), "the last known usage, no exception");
        }
    }

    @Test
    void pagesRoundTripAndEveryDamagedValueIsAMissThatIsRemoved() {
        List<String> k = PageKeys.keys(IntStream.range(0, 16).toArray(), 4, 4, "m-L1-P4-S64");
        LocalMap map = new LocalMap();
        try (MapStorage st = new MapStorage(map, PAGE)) {
            assertTrue(st.batchSet(k.subList(0, 3), List.of(page(0), page(1), page(2))));
            assertEquals(3, st.batchExists(k));
            MemorySegment got = arena.allocate(PAGE);
            assertTrue(st.get(k.get(2), got));
            assertArrayEquals(page(2).toArray(ValueLayout.JAVA_BYTE), got.toArray(ValueLayout.JAVA_BYTE));
            assertEquals(new HiCacheStorage.Usage(3, 3L * PAGE), st.usage());

            map.m.get(k.get(0))[map.m.get(k.get(0)).length - 3] ^= 4; // one bit of the payload
            assertFalse(st.get(k.get(0), got));
            assertFalse(map.m.containsKey(k.get(0)), "removed");
            map.m.put(k.get(3), map.m.get(k.get(1))); // a value stored under another key
            assertFalse(st.get(k.get(3), got));
            assertFalse(st.get(k.get(1), arena.allocate(PAGE - 1)), "another page size");
            assertEquals(3, st.damaged());
            assertEquals(1, map.m.size());
            assertTrue(st.delete(k.get(2)));
            assertFalse(st.exists(k.get(2)));
            st.set(k.get(2), page(2));
            st.clear();
            assertEquals(0, map.m.size());
        }
    }
}
