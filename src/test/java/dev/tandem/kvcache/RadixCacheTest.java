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

    /** A listener that gives each evicted page the next handle from 100 on, except where {@code none} says. */
    private static RadixCache.EvictionListener handles(long[] next, java.util.Set<Integer> none) {
        return (path, pages, host) -> {
            long[] out = new long[pages.length];
            for (int i = 0; i < pages.length; i++) {
                out[i] = none.contains(pages[i]) ? RadixCache.NO_HOST : next[0]++;
            }
            return out;
        };
    }

    @Test
    void anEvictedNodeWithHostCopiesStaysInTheTreeAsAHostNodeAndALoadBringsItBack() {
        List<Integer> freed = new ArrayList<>();
        RadixCache c = new RadixCache(2, freed::add);
        c.setEvictionListener(handles(new long[] {100}, java.util.Set.of()));
        c.insert(new int[] {1, 2, 3, 4, 5, 6}, new int[] {10, 11, 12});
        c.takeEvents();

        assertEquals(3, c.evict(3));
        assertEquals(List.of(10, 11, 12), freed, "the pool pages go");
        assertEquals(0, c.cachedPages());
        assertEquals(3, c.hostPages(), "the node stays, on host memory");
        assertEquals(List.of(new KvEvent.BlockRemoved(List.of(h(1, 2), h(3, 4), h(5, 6)))), c.takeEvents(),
                "the pool reports the pages gone; the host node itself queues nothing");
        assertEquals(List.of(new KvEvent.AllBlocksCleared()), c.snapshot(), "a host node is not in the pool's view");
        assertEquals(0, c.evict(1), "nothing left in the pool to evict");

        RadixCache.Match m = c.match(new int[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertEquals(0, m.tokens());
        assertArrayEquals(new long[] {100, 101, 102}, m.hostHandles(), "the walk goes on through the host node");

        // Two pages loaded back: the host node splits (silently), its upper part takes the pool pages.
        assertEquals(0, c.insert(new int[] {1, 2, 3, 4}, new int[] {20, 21}));
        assertEquals(List.of(stored(null, 1, 2), stored(h(1, 2), 3, 4)), c.takeEvents());
        m = c.match(new int[] {1, 2, 3, 4, 5, 6});
        assertEquals(4, m.tokens());
        assertArrayEquals(new int[] {20, 21}, m.pages(), "pool first");
        assertArrayEquals(new long[] {102}, m.hostHandles(), "then host");
        assertEquals(2, c.cachedPages());
        assertEquals(3, c.hostPages(), "the loaded pages keep their host copies");

        // Evicted again: the copies it has are kept.
        assertEquals(2, c.evict(2));
        assertEquals(List.of(new KvEvent.BlockRemoved(List.of(h(1, 2), h(3, 4)))), c.takeEvents());
        assertEquals(3, c.hostPages());
        assertArrayEquals(new long[] {100, 101, 102}, c.match(new int[] {1, 2, 3, 4, 5, 6}).hostHandles());

        // Host memory lets the middle page go: the host node keeps the page before it, loses it and what follows.
        c.hostDropped(101);
        assertArrayEquals(new long[] {100}, c.match(new int[] {1, 2, 3, 4, 5, 6}).hostHandles());
        assertEquals(1, c.hostPages());
        c.hostDropped(101); // twice, or a handle the tree never had: nothing happens
        c.hostDropped(999);
        c.hostDropped(100);
        assertEquals(0, c.hostPages());
        assertEquals(0, c.match(new int[] {1, 2, 3, 4}).hostHandles().length);
        assertEquals(List.of(), c.takeEvents(), "host nodes never queue pool events");
        assertEquals(true, c.reset());
    }

    @Test
    void aPoolNodeLosingAHostCopyStaysAndAnEvictionWithoutCopiesForgetsTheRest() {
        List<Integer> freed = new ArrayList<>();
        RadixCache c = new RadixCache(2, freed::add);
        c.setEvictionListener(handles(new long[] {100}, java.util.Set.of(12))); // page 12 gets no copy
        c.insert(new int[] {1, 2, 3, 4, 5, 6}, new int[] {10, 11, 12});
        c.setHost(new int[] {1, 2, 3, 4}, new long[] {RadixCache.NO_HOST, 50}); // a write-through of page 2
        assertEquals(1, c.hostPages());
        c.hostDropped(50); // host memory let it go: the pool node keeps its pages
        assertEquals(0, c.hostPages());
        assertEquals(6, c.match(new int[] {1, 2, 3, 4, 5, 6}).tokens());

        assertEquals(3, c.evict(3));
        assertEquals(2, c.hostPages(), "the leading pages with a copy stay; page 3 had none and is forgotten");
        RadixCache.Match m = c.match(new int[] {1, 2, 3, 4, 5, 6});
        assertArrayEquals(new long[] {100, 101}, m.hostHandles());

        // A computed request's pages fill the host node on its path and extend it with a new leaf.
        freed.clear();
        assertEquals(0, c.insert(new int[] {1, 2, 3, 4, 5, 6}, new int[] {30, 31, 32}));
        assertEquals(List.of(), freed, "no page is a duplicate: the host node had no pool pages");
        assertEquals(3, c.cachedPages());
        m = c.match(new int[] {1, 2, 3, 4, 5, 6});
        assertArrayEquals(new int[] {30, 31, 32}, m.pages());
        assertEquals(0, m.hostHandles().length);

        // Evicted with no new copies: pages with the copies they had stay on host memory, the others go.
        c.insert(new int[] {1, 2, 7, 8}, new int[] {30, 33});
        c.setEvictionListener((path, pages, host) -> null);
        assertEquals(4, c.evict(4));
        assertEquals(0, c.cachedPages());
        assertEquals(2, c.hostPages());
        assertArrayEquals(new long[] {100, 101}, c.match(new int[] {1, 2, 3, 4, 5, 6}).hostHandles());
        assertArrayEquals(new long[] {100}, c.match(new int[] {1, 2, 7, 8}).hostHandles());

        // A pool node over host nodes is evicted without a copy: the host nodes below become unreachable, go too.
        c.insert(new int[] {1, 2}, new int[] {40});
        c.hostDropped(100); // the pool node [1,2] no longer has a copy
        assertEquals(1, c.hostPages(), "[3,4] below it still has one");
        assertEquals(1, c.evict(1));
        assertEquals(0, c.hostPages());
        assertEquals(0, c.match(new int[] {1, 2, 3, 4}).hostHandles().length);
        assertEquals(true, c.reset());
        assertEquals(List.of(30, 31, 32, 33, 40), freed.stream().sorted().toList(), "each pool page freed once");
    }
}
