package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.transfer.Bootstrap;

/**
 * The PD fields a load balancer injects ({@code bootstrap_host}, {@code bootstrap_port}, {@code bootstrap_room}),
 * a value or, for batches, one per item. A null port means "the decode worker's default bootstrap port" (-1 here).
 */
final class BootstrapFields {
    private BootstrapFields() {
    }

    /** Item {@code i}'s coordinates, or null when the request carries no room. */
    static Bootstrap parse(JsonNode body, int i, boolean batch) {
        JsonNode room = pick(body.get("bootstrap_room"), i, batch, "bootstrap_room");
        if (room == null) {
            return null;
        }
        if (!room.isIntegralNumber() || !room.canConvertToLong() || room.asLong() < 0) {
            throw ApiException.badField("bootstrap_room", room, "must be an integer in [0, 2^63-1]");
        }
        JsonNode host = pick(body.get("bootstrap_host"), i, batch, "bootstrap_host");
        if (host != null && !host.isTextual()) {
            throw ApiException.badField("bootstrap_host", host, "must be a string");
        }
        JsonNode port = pick(body.get("bootstrap_port"), i, batch, "bootstrap_port");
        if (port != null && (!port.isIntegralNumber() || !port.canConvertToInt() || port.asInt() < 1
                || port.asInt() > 65535)) {
            throw ApiException.badField("bootstrap_port", port, "must be a port number in [1, 65535] or null");
        }
        return new Bootstrap(host == null ? null : host.asText(), port == null ? -1 : port.asInt(), room.asLong());
    }

    private static JsonNode pick(JsonNode v, int i, boolean batch, String field) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            return v;
        }
        if (!batch) {
            throw ApiException.badField(field, v, "must be a single value for a single request");
        }
        if (i >= v.size()) {
            throw ApiException.badField(field, v, "needs one entry per batch item");
        }
        JsonNode x = v.get(i);
        return x == null || x.isNull() ? null : x;
    }

    /** Refuses a room whose {@code copies} consecutive rooms would run past 2^63-1. */
    static void checkCopies(Bootstrap b, long copies) {
        if (b != null && copies > 1 && b.room() > Long.MAX_VALUE - (copies - 1)) {
            throw ApiException.badField("bootstrap_room", b.room(), "with " + copies
                    + " items the rooms room..room+" + (copies - 1) + " must stay within [0, 2^63-1]");
        }
    }

    /** The coordinates of copy {@code k} of an item expanded by {@code n > 1}: consecutive rooms. */
    static Bootstrap copy(Bootstrap b, int k) {
        return b == null || k == 0 ? b : new Bootstrap(b.host(), b.port(), b.room() + k);
    }
}
