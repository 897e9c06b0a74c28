package dev.tandem.kvcache;

import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.TupleHash;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The exact events for insert, extend, split, evict and flush, and the pages the cache frees (page size 2). */
class RadixCacheTest {
    private static long h(int... t) {
        return TupleHash.hash(t, 0, t.length);
    }

    private static KvEvent.BlockStored stored(Long parent, int a, int b) {
        return new KvEvent.BlockStored(List.of(h(a, b)), parent, List.of(a, b), 2, null);
    }

    @Test
    void insertExtendSplitEvictAndFlush() {
        List<Integer> freed = new ArrayList<>();
        RadixCache c = new RadixCache(2, freed::add);

        assertEquals(0, c.insert(new int[] {1, 2, 3, 4}, new int[] {10, 11}));
        assertEquals(List.of(stored(null, 1, 2), stored(h(1, 2), 3, 4)), c.takeEvents());

        // Extend: the first two pages are already cached (ours are duplicates), a third is new.
        assertEquals(4, c.insert(new int[] {1, 2, 3, 4, 5, 6}, new int[] {20, 21, 22}));
        assertEquals(List.of(20, 21), freed);
        assertEquals(List.of(stored(h(3, 4), 5, 6)), c.takeEvents());
        RadixCache.Match m = c.match(new int[] {1, 2, 3, 4, 5, 6, 9});
        assertArrayEquals(new int[] {10, 11, 22}, m.pages());
        assertEquals(6, m.tokens());

        // Split: [1,2,3,4] is cut after its first page to branch into [7,8].
        assertEquals(2, c.insert(new int[] {1, 2, 7, 8, 9}, new int[] {30, 31, 32}));
        assertEquals(List.of(
                new KvEvent.BlockRemoved(List.of(h(1, 2), h(3, 4))),
                stored(null, 1, 2),
                stored(h(1, 2), 3, 4),
                stored(h(1, 2), 7, 8)), c.takeEvents());
        assertEquals(List.of(20, 21, 30, 32), freed, "duplicate first page and the partial last page");
        assertEquals(4, c.cachedPages()); // 10, 11, 22, 31

        // Evict: [5,6] was used longest ago... but lock it first: then [7,8] goes.
        RadixCache.Match hot = c.match(new int[] {1, 2, 3, 4, 5, 6});
        c.lock(hot);
        assertEquals(1, c.evict(1));
        assertEquals(List.of(new KvEvent.BlockRemoved(List.of(h(7, 8)))), c.takeEvents());
        assertEquals(31, freed.get(freed.size() - 1));
        c.unlock(hot);
        assertEquals(1, c.evict(1));
        assertEquals(List.of(new KvEvent.BlockRemoved(List.of(h(5, 6)))), c.takeEvents());

        // Flush: everything goes, one event.
        c.reset();
        assertEquals(List.of(new KvEvent.AllBlocksCleared()), c.takeEvents());
        assertEquals(0, c.cachedPages());
        List<Integer> all = new ArrayList<>(freed);
        all.sort(null);
        assertEquals(List.of(10, 11, 20, 21, 22, 30, 31, 32), all, "every page came back exactly once");
        assertEquals(0, c.match(new int[] {1, 2, 3, 4}).tokens());
    }

    @Test
    void lockedPathsSurviveEvictionAndHashesMatchSglangsForThePagesTokens() {
        List<Integer> freed = new ArrayList<>();
        RadixCache c = new RadixCache(4, freed::add);
        c.insert(new int[] {128000, 791, 6864, 3363, 1, 2, 3, 4}, new int[] {0, 1});
        List<KvEvent> ev = c.takeEvents();
        assertEquals(TupleHash.hash(List.of(128000, 791, 6864, 3363)),
                ((KvEvent.BlockStored) ev.get(0)).blockHashes().get(0));
        RadixCache.Match m = c.match(new int[] {128000, 791, 6864, 3363, 1, 2, 3, 4});
        c.lock(m);
        assertEquals(0, c.evictablePages());
        assertEquals(0, c.evict(2), "nothing unlocked to evict");
        assertEquals(false, c.reset(), "no flush while a request holds a prefix");
        assertEquals(List.of(), c.takeEvents());
        c.unlock(m);
        assertEquals(2, c.evictablePages());
        assertEquals(2, c.evict(2));
        assertEquals(List.of(0, 1), freed);
        assertEquals(0, c.evictablePages());
    }

    @Test
    void aLockedNodeSplitLaterStaysLockedOnBothHalvesAndTheSnapshotIsTheTree() {
        RadixCache c = new RadixCache(2, p -> { });
        c.insert(new int[] {1, 2, 3, 4, 5, 6}, new int[] {10, 11, 12});
        RadixCache.Match whole = c.match(new int[] {1, 2, 3, 4, 5, 6});
        c.lock(whole);
        assertEquals(0, c.evictablePages());
        c.match(new int[] {1, 2, 9, 9}); // splits [1,2 | 3,4,5,6] under the lock
        c.insert(new int[] {1, 2, 9, 9}, new int[] {10, 13});
        assertEquals(1, c.evictablePages(), "only the new [9,9] page is unlocked");
        c.takeEvents();
        assertEquals(List.of(new KvEvent.AllBlocksCleared(), stored(null, 1, 2)), c.snapshot().subList(0, 2));
        assertEquals(java.util.Set.of(stored(h(1, 2), 3, 4), stored(h(3, 4), 5, 6), stored(h(1, 2), 9, 9)),
                new java.util.HashSet<>(c.snapshot().subList(2, 5)));
        assertEquals(List.of(), c.takeEvents(), "a snapshot queues nothing");
        c.unlock(whole);
        assertEquals(4, c.evictablePages());
        assertEquals(true, c.reset());
    }

    @Test
    void evictionClimbsToAParentLeftWithoutChildren() {
        List<Integer> freed = new ArrayList<>();
        RadixCache c = new RadixCache(2, freed::add);
        c.insert(new int[] {1, 2, 3, 4}, new int[] {10, 11});
        c.insert(new int[] {1, 2, 5, 6}, new int[] {10, 12}); // splits: [1,2] -> {[3,4], [5,6]}
        c.takeEvents();
        assertEquals(3, c.evict(3));
        assertEquals(List.of(11, 12, 10), freed, "older leaf, newer leaf, then their parent");
        assertEquals(List.of(new KvEvent.BlockRemoved(List.of(h(3, 4))), new KvEvent.BlockRemoved(List.of(h(5, 6))),
                new KvEvent.BlockRemoved(List.of(h(1, 2)))), c.takeEvents());
        assertEquals(0, c.cachedPages());
    }
}
