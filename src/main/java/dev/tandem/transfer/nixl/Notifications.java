package dev.tandem.transfer.nixl;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;

/**
 * The receiving side's view of NIXL notifications (SGLang's {@code NixlKVReceiver.poll}): {@code "{room}_kv_{chunk}
 * _{last}"} adds a chunk, and the last one says how many to expect; {@code "{room}_aux"} marks the aux row. A room
 * whose expected chunks and aux row all arrived is delivered to the listener once and forgotten. Rooms that never
 * complete (their transfer failed midway) are dropped after {@code staleNanos}.
 */
final class Notifications {
    private static final class Room {
        final long firstNanos = System.nanoTime();
        final Set<Integer> chunks = new HashSet<>();
        int expected = -1;
        boolean aux;
    }

    private final Map<Long, Room> rooms = new ConcurrentHashMap<>();
    private final long staleNanos;
    private volatile LongConsumer listener = room -> { };
    private long malformed;

    Notifications(long staleNanos) {
        this.staleNanos = staleNanos;
    }

    void listener(LongConsumer l) {
        listener = l;
    }

    /** One notification (under the agent's lock). */
    void on(String msg) {
        String[] f = msg.split("_", -1);
        long room;
        try {
            room = Long.parseLong(f[0]);
            if (room < 0 || !(f.length == 2 && f[1].equals("aux") || f.length == 4 && f[1].equals("kv")
                    && Integer.parseInt(f[2]) >= 0 && (f[3].equals("0") || f[3].equals("1")))) {
                throw new NumberFormatException(msg);
            }
        } catch (NumberFormatException e) {
            malformed++;
            return;
        }
        sweep();
        Room r = rooms.computeIfAbsent(room, k -> new Room());
        if (f[1].equals("aux")) {
            r.aux = true;
        } else {
            int chunk = Integer.parseInt(f[2]);
            r.chunks.add(chunk);
            if (f[3].equals("1")) {
                r.expected = chunk + 1;
            }
        }
        if (r.aux && r.expected >= 0 && r.chunks.size() == r.expected) {
            rooms.remove(room);
            listener.accept(room);
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        rooms.values().removeIf(r -> now - r.firstNanos > staleNanos);
    }

    /** Rooms with some notifications but not all yet. */
    int pending() {
        return rooms.size();
    }

    long malformed() {
        return malformed;
    }
}
