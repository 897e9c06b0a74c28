package dev.tandem.hicache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The L2 tier: a host memory region of {@code capacity} page slots ({@code [capacity, pageBytes]}, one allocation)
 * and the keys it holds, least recently used first. A slot is filled in two stages: {@link #reserve} hands out a
 * slot for a key nobody can see yet, {@link #publish} makes it visible once its bytes are in (so a reader never
 * sees half a page). A slot being read or written is pinned and never evicted. Thread-safe: the scheduler thread
 * and the tier's I/O thread share it. Owns its memory until {@link #close()}.
 */
public final class HostTier implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment region;     // [capacity, pageBytes]
    private final long pageBytes;
    private final int capacity;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final LinkedHashMap<String, Entry> visible = new LinkedHashMap<>(16, 0.75f, true); // LRU first
    private final Map<Integer, Entry> bySlot = new HashMap<>();
    private Listener listener = new Listener() {
    };
    private long generation;

    /** Told, under the tier's lock (so in order), when a page becomes visible and when it is dropped. */
    public interface Listener {
        /** @param tag what the page's writer attached to it ({@link #reserve(String, Object)}) */
        default void published(Object tag) {
        }

        default void dropped(Object tag) {
        }

        /** As {@link #dropped(Object)}, with the page's {@link #handle}. */
        default void dropped(Object tag, long handle) {
            dropped(tag);
        }
    }

    /** A slot and its key; {@code pins} counts readers and writers at work on it. */
    private static final class Entry {
        final String key;
        final int slot;
        final Object tag;
        final long handle; // the slot and a generation: never the same for two pages
        int pins;
        boolean live; // published and not dropped

        Entry(String key, int slot, Object tag, long generation) {
            this.key = key;
            this.slot = slot;
            this.tag = tag;
            this.handle = generation << 32 | slot;
        }
    }

    public HostTier(long pageBytes, int capacity) {
        if (pageBytes < 1 || capacity < 1) {
            throw new IllegalArgumentException("host tier needs pages > 0 of > 0 bytes, got " + capacity + " of "
                    + pageBytes);
        }
        this.pageBytes = pageBytes;
        this.capacity = capacity;
        this.region = arena.allocate(Math.multiplyExact(pageBytes, capacity), 64);
        for (int i = 0; i < capacity; i++) {
            free.add(i);
        }
    }

    /** Set once, before any page is stored. */
    public synchronized void setListener(Listener listener) {
        this.listener = listener;
    }

    /** The tags of every visible page, least recently used first. */
    public synchronized List<Object> tags() {
        List<Object> out = new java.util.ArrayList<>();
        for (Entry e : visible.values()) {
            out.add(e.tag);
        }
        return out;
    }

    /** The bytes of {@code slot}. */
    public MemorySegment slot(int slot) {
        return region.asSlice(slot * pageBytes, pageBytes);
    }

    public synchronized boolean contains(String key) {
        return visible.containsKey(key);
    }

    /** How many of {@code keys}, from {@code from} on, are here. */
    public synchronized int leadingHits(List<String> keys, int from) {
        int n = from;
        while (n < keys.size() && visible.containsKey(keys.get(n))) {
            n++;
        }
        return n - from;
    }

    /** Pins {@code key}'s slot for reading (marking it recently used); -1 when absent. Unpin with {@link #unpin}. */
    public synchronized int pin(String key) {
        Entry e = visible.get(key);
        if (e == null) {
            return -1;
        }
        e.pins++;
        return e.slot;
    }

    /**
     * A page's handle: names this page in this slot and no other (a slot's next page gets another), so a holder
     * of a handle can tell its page is gone. {@code -1} when {@code key} is not here.
     */
    public synchronized long handle(String key) {
        Entry e = visible.get(key);
        return e == null ? -1 : e.handle;
    }

    /** The handle of the page reserved or held in {@code slot}. */
    public synchronized long handleOfSlot(int slot) {
        Entry e = bySlot.get(slot);
        if (e == null) {
            throw new IllegalStateException("host tier: slot " + slot + " holds no page");
        }
        return e.handle;
    }

    /** Pins the page {@code handle} names for reading (marking it recently used); -1 when it is gone. */
    public synchronized int pinHandle(long handle) {
        Entry e = bySlot.get((int) handle);
        if (e == null || !e.live || e.handle != handle) {
            return -1;
        }
        visible.get(e.key); // access order: recently used
        e.pins++;
        return e.slot;
    }

    public synchronized void unpin(int slot) {
        Entry e = bySlot.get(slot);
        if (e == null || e.pins <= 0) {
            throw new IllegalStateException("host tier: slot " + slot + " unpinned but not pinned");
        }
        if (--e.pins == 0 && !e.live) {
            release(e);
        }
    }

    /**
     * A slot, pinned, for {@code key}'s bytes, evicting the least recently used unpinned page when none is free;
     * -1 when the key is already here or every slot is pinned. Fill it, then {@link #publish} or {@link #unpin}.
     */
    public synchronized int reserve(String key) {
        return reserve(key, null);
    }

    /** As {@link #reserve(String)}, with {@code tag} handed to the {@link Listener} when published and dropped. */
    public synchronized int reserve(String key, Object tag) {
        if (visible.containsKey(key)) {
            return -1;
        }
        if (free.isEmpty()) {
            for (Iterator<Entry> it = visible.values().iterator(); it.hasNext(); ) {
                Entry e = it.next();
                if (e.pins == 0) {
                    it.remove();
                    e.live = false;
                    release(e);
                    listener.dropped(e.tag, e.handle);
                    break;
                }
            }
        }
        Integer slot = free.poll();
        if (slot == null) {
            return -1;
        }
        Entry e = new Entry(key, slot, tag, ++generation);
        e.pins = 1;
        bySlot.put(slot, e);
        return slot;
    }

    /** Makes a reserved slot's page visible under its key and drops the writer's pin. */
    public synchronized void publish(int slot) {
        Entry e = bySlot.get(slot);
        if (e == null || e.live || e.pins <= 0) {
            throw new IllegalStateException("host tier: slot " + slot + " published but not reserved");
        }
        if (visible.containsKey(e.key)) { // another writer was first
            e.pins--;
            if (e.pins == 0) {
                release(e);
            }
            return;
        }
        e.live = true;
        visible.put(e.key, e);
        listener.published(e.tag);
        unpin(slot);
    }

    private void release(Entry e) {
        bySlot.remove(e.slot);
        free.add(e.slot);
    }

    /** Drops every page; pinned slots go back once their pins are gone. */
    public synchronized void clear() {
        for (Entry e : visible.values()) {
            e.live = false;
            if (e.pins == 0) {
                release(e);
            }
            listener.dropped(e.tag, e.handle);
        }
        visible.clear();
    }

    /** Pages held (visible). */
    public synchronized int pages() {
        return visible.size();
    }

    /** Slots neither holding a page nor being filled. */
    public synchronized int freeSlots() {
        return free.size();
    }

    public int capacity() {
        return capacity;
    }

    public long pageBytes() {
        return pageBytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
