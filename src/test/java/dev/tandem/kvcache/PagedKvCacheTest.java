package dev.tandem.kvcache;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PagedKvCacheTest {

    @Test
    void allocatorIsAllOrNothingAndRejectsDoubleFree() {
        PageAllocator a = new PageAllocator(5);
        assertArrayEquals(new int[] {0, 1, 2}, a.allocate(3));
        assertNull(a.allocate(3));
        assertEquals(2, a.freePages());
        a.free(1);
        assertEquals(3, a.freePages());
        assertEquals("page 1 freed but not allocated",
                assertThrows(IllegalStateException.class, () -> a.free(1)).getMessage());
    }

    @Test
    void rowsGrowPageByPageAndMapPositionsToSlots() {
        try (PagedKvCache kv = new PagedKvCache(new KvPool(2, 10, 4, 2, 8), 3, 64)) {
            assertEquals(2L * 2 * 10 * 4 * 2 * 8 * 4, kv.pool().totalBytes());
            int a = kv.allocateRow();
            int b = kv.allocateRow();
            assertTrue(kv.ensureCapacity(a, 5));          // 2 pages: 0, 1
            assertTrue(kv.ensureCapacity(b, 4));          // 1 page: 2
            assertTrue(kv.ensureCapacity(a, 8));          // still 2 pages
            assertTrue(kv.ensureCapacity(a, 9));          // third page: 3
            assertArrayEquals(new int[] {0, 1, 3}, kv.pagesOf(a));
            assertArrayEquals(new int[] {2}, kv.pagesOf(b));
            assertEquals(0, kv.slot(a, 0));
            assertEquals(5, kv.slot(a, 5));               // page 1, offset 1
            assertEquals(3 * 4, kv.slot(a, 8));           // page 3, offset 0
            assertEquals(2 * 4 + 3, kv.slot(b, 3));
            assertEquals(6, kv.allocator().freePages());
            assertFalse(kv.ensureCapacity(b, 4 * 8));     // needs 7 more, 6 free: nothing taken
            assertEquals(6, kv.allocator().freePages());
            assertArrayEquals(new int[] {2}, kv.pagesOf(b));
            kv.release(a);
            kv.release(b);
            assertEquals(10, kv.allocator().freePages());
            assertEquals(3, kv.freeRows());
            assertThrows(IllegalStateException.class, () -> kv.release(a));
        }
    }

    @Test
    void offloadAndRestoreMoveExactlyTheRowsKvThroughHostMemory() {
        try (PagedKvCache kv = new PagedKvCache(new KvPool(2, 8, 4, 1, 4), 2, 64)) {
            int a = kv.allocateRow();
            kv.ensureCapacity(a, 10); // 3 pages
            java.lang.foreign.MemorySegment all = kv.pool().segment();
            for (long i = 0; i < all.byteSize() / 4; i++) {
                all.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, i);
            }
            float[][] before = new float[10][];
            for (int p = 0; p < 10; p++) {
                before[p] = slotFloats(kv, a, p);
            }
            try (HostKv h = kv.offload(a, 10)) {
                assertEquals(10, h.tokens());
                kv.release(a);
                int other = kv.allocateRow();
                kv.ensureCapacity(other, 8); // takes the low pages, so the restore lands elsewhere
                all.fill((byte) 0);
                int b = kv.allocateRow();
                assertTrue(kv.restore(b, h));
                assertArrayEquals(new int[] {0, 3, 4}, kv.pagesOf(b)); // not the pages it came from (0, 1, 2)
                for (int p = 0; p < 10; p++) {
                    assertArrayEquals(before[p], slotFloats(kv, b, p), "position " + p);
                }
            }
        }
    }

    private static float[] slotFloats(PagedKvCache kv, int row, int pos) {
        float[] out = new float[2 * 2 * 4];
        int i = 0;
        for (int l = 0; l < 2; l++) {
            for (java.lang.foreign.MemorySegment region : new java.lang.foreign.MemorySegment[] {kv.pool().keys(l),
                    kv.pool().values(l)}) {
                for (int d = 0; d < 4; d++) {
                    out[i++] = region.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, kv.slot(row, pos) * 4L + d);
                }
            }
        }
        return out;
    }

    @Test
    void rowsRunOutAndComeBack() {
        try (PagedKvCache kv = new PagedKvCache(new KvPool(1, 4, 16, 1, 4), 2, 64)) {
            int a = kv.allocateRow();
            int b = kv.allocateRow();
            assertEquals(-1, kv.allocateRow());
            kv.release(a);
            assertEquals(a, kv.allocateRow());
            kv.release(b);
        }
    }

    @Test
    void pageBytesAddressOnePageOfARegion() {
        try (KvPool pool = new KvPool(1, 3, 2, 2, 4)) {
            float[] k = {1, 2, 3, 4, 5, 6, 7, 8};
            float[] v = {-1, -2, -3, -4, -5, -6, -7, -8};
            pool.write(0, 5, k, 0, v, 0);                 // page 2, offset 1
            long at = 2 * pool.pageBytes() + pool.slotBytes();
            assertEquals(3f, pool.keys(0).get(java.lang.foreign.ValueLayout.JAVA_FLOAT, at + 8));
            assertEquals(-8f, pool.values(0).get(java.lang.foreign.ValueLayout.JAVA_FLOAT, at + 28));
        }
    }
}
