package dev.tandem.hicache;

import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host tier's slots: invisible until published, LRU eviction that never takes a pinned slot, clear. */
class HostTierTest {
    private static int fill(HostTier t, String key, byte b) {
        int slot = t.reserve(key);
        if (slot >= 0) {
            t.slot(slot).fill(b);
            t.publish(slot);
        }
        return slot;
    }

    @Test
    void aReservedPageIsInvisibleUntilPublishedAndEvictionSkipsPinnedSlots() {
        try (HostTier t = new HostTier(64, 2)) {
            int a = t.reserve("a");
            assertEquals(-1, t.pin("a"), "not visible while it is being filled");
            t.slot(a).fill((byte) 1);
            t.publish(a);
            assertEquals(-1, t.reserve("a"), "already here");
            fill(t, "b", (byte) 2);
            int pinned = t.pin("a"); // a is now the most recently used and pinned
            assertEquals(0, t.freeSlots());
            assertTrue(fill(t, "c", (byte) 3) >= 0, "b goes: least recently used and unpinned");
            assertEquals(List.of(true, false, true), List.of(t.contains("a"), t.contains("b"), t.contains("c")));
            assertEquals((byte) 1, t.slot(pinned).get(ValueLayout.JAVA_BYTE, 63));
            assertEquals(1, t.leadingHits(List.of("a", "b", "c"), 0));
            assertEquals(1, t.leadingHits(List.of("a", "b", "c"), 2));
            t.unpin(pinned);
            assertThrows(IllegalStateException.class, () -> t.unpin(pinned));
        }
    }

    @Test
    void everySlotPinnedMeansNoRoomAndClearWaitsForPins() {
        try (HostTier t = new HostTier(64, 2)) {
            fill(t, "a", (byte) 1);
            fill(t, "b", (byte) 2);
            int pa = t.pin("a");
            int pb = t.pin("b");
            assertEquals(-1, t.reserve("c"), "nothing evictable");
            t.clear();
            assertEquals(0, t.pages());
            assertEquals(0, t.freeSlots(), "pinned slots come back when unpinned");
            t.unpin(pa);
            t.unpin(pb);
            assertEquals(2, t.freeSlots());
        }
    }
}
