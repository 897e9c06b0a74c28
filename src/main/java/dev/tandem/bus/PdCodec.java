package dev.tandem.bus;

import dev.tandem.transfer.AgentMemory;
import dev.tandem.transfer.KvFormat;
import dev.tandem.transfer.KvLayout;
import dev.tandem.transfer.KvPoll;
import dev.tandem.transfer.Messages;
import dev.tandem.transfer.SegmentDescriptor;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The bootstrap messages as JSON on the event bus: plain JSON crosses the clustered bus without custom codecs and
 * reads well in logs. Each object has a {@code type}: register, info, abort, ping (to the prefill side), status (to
 * the decode side).
 */
public final class PdCodec {
    private PdCodec() {
    }

    public static JsonObject register(Messages.KvArgsRegistration r) {
        return new JsonObject().put("type", "register").put("decode_worker_id", r.decodeWorkerId())
                .put("kv", segment(r.kv())).put("kv_layout", new JsonObject().put("num_layers", r.kvLayout().numLayers())
                        .put("region_bytes", r.kvLayout().regionBytes()).put("page_bytes", r.kvLayout().pageBytes()))
                .put("aux", segment(r.aux())).put("aux_slots", r.auxSlots()).put("engine_rank", r.engineRank())
                .put("attn_tp_size", r.attnTpSize()).put("incarnation", r.incarnation())
                .put("kv_format", r.format() == null ? null : new JsonObject()
                        .put("kv_cache_dtype", r.format().kvDtype()).put("quantization", r.format().quantization())
                        .put("page_size", r.format().pageSize()));
    }

    public static Messages.KvArgsRegistration register(JsonObject j) {
        JsonObject l = object(j, "kv_layout");
        return new Messages.KvArgsRegistration(text(j, "decode_worker_id"), segment(object(j, "kv")),
                new KvLayout(integer(l, "num_layers", 1, 1 << 16), whole(l, "region_bytes", 1, Long.MAX_VALUE),
                        whole(l, "page_bytes", 1, Long.MAX_VALUE)),
                segment(object(j, "aux")), integer(j, "aux_slots", 1, 1 << 24), integer(j, "engine_rank", 0, 1 << 16),
                integer(j, "attn_tp_size", 1, 1 << 16), text(j, "incarnation"), format(j));
    }

    /** The optional {@code kv_format} of frame A (absent or null: the decode worker declared none). */
    private static KvFormat format(JsonObject j) {
        if (j.getValue("kv_format") == null) {
            return null;
        }
        JsonObject f = object(j, "kv_format");
        return new KvFormat(text(f, "kv_cache_dtype"), text(f, "quantization"), integer(f, "page_size", 1, 1 << 16));
    }

    public static JsonObject info(Messages.TransferInfo i) {
        JsonArray pages = new JsonArray();
        for (int p : i.dstPages()) {
            pages.add(p);
        }
        return new JsonObject().put("type", "info").put("room", i.room()).put("decode_worker_id", i.decodeWorkerId())
                .put("dst_pages", pages).put("dst_aux_index", i.dstAuxIndex())
                .put("required_dst_info_num", i.requiredDstInfoNum()).put("incarnation", i.incarnation());
    }

    public static Messages.TransferInfo info(JsonObject j) {
        if (!(j.getValue("dst_pages") instanceof JsonArray a) || a.size() > MAX_PAGES) {
            throw new IllegalArgumentException("dst_pages: expected an array of at most " + MAX_PAGES + " page indices");
        }
        int[] pages = new int[a.size()];
        for (int k = 0; k < pages.length; k++) {
            if (!(a.getValue(k) instanceof Integer n) || n < 0) {
                throw new IllegalArgumentException("dst_pages[" + k + "]: expected a page index >= 0, got "
                        + a.getValue(k));
            }
            pages[k] = n;
        }
        return new Messages.TransferInfo(room(j), text(j, "decode_worker_id"), pages,
                integer(j, "dst_aux_index", 0, Integer.MAX_VALUE), integer(j, "required_dst_info_num", 1, 1 << 16),
                text(j, "incarnation"));
    }

    public static JsonObject abort(Messages.AbortRoom a) {
        return new JsonObject().put("type", "abort").put("room", a.room()).put("reason", a.reason());
    }

    public static Messages.AbortRoom abort(JsonObject j) {
        return new Messages.AbortRoom(room(j), bounded(j.getValue("reason")));
    }

    public static JsonObject status(Messages.TransferStatus s) {
        return new JsonObject().put("type", "status").put("room", s.room()).put("status", s.status().value())
                .put("prefill_rank", s.prefillRank()).put("reason", s.reason());
    }

    public static Messages.TransferStatus status(JsonObject j) {
        return new Messages.TransferStatus(room(j), KvPoll.of(integer(j, "status", 0, 4)),
                integer(j, "prefill_rank", 0, 1 << 16), j.getValue("reason") == null ? null : bounded(j.getValue("reason")));
    }

    /** The most rooms one heartbeat asks about (a decode worker's rooms in flight with one prefill worker). */
    public static final int MAX_PING_ROOMS = 4096;

    /** A prefill worker asks a decode worker for a write lease, naming its bootstrap address. */
    public static JsonObject leaseRequest(String prefillBootstrapAddress) {
        return new JsonObject().put("type", "lease").put("prefill", prefillBootstrapAddress);
    }

    public static String leaseRequester(JsonObject j) {
        return text(j, "prefill");
    }

    /** A heartbeat that also asks how the given rooms ended (frame C may have been lost on the way). */
    public static JsonObject ping(List<Long> rooms) {
        JsonArray a = new JsonArray();
        rooms.stream().limit(MAX_PING_ROOMS).forEach(a::add);
        return new JsonObject().put("type", "ping").put("rooms", a);
    }

    /** The rooms a heartbeat asks about (none for a plain ping). */
    public static List<Long> pingRooms(JsonObject j) {
        Object v = j.getValue("rooms");
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof JsonArray a) || a.size() > MAX_PING_ROOMS) {
            throw new IllegalArgumentException("rooms: expected an array of at most " + MAX_PING_ROOMS + " rooms");
        }
        List<Long> out = new java.util.ArrayList<>(a.size());
        for (int k = 0; k < a.size(); k++) {
            out.add(whole(new JsonObject().put("room", a.getValue(k)), "room", 0, Long.MAX_VALUE));
        }
        return out;
    }

    /** The outcomes a heartbeat reply reports, as frames C. */
    public static JsonArray statuses(List<Messages.TransferStatus> statuses) {
        JsonArray a = new JsonArray();
        statuses.forEach(s -> a.add(status(s)));
        return a;
    }

    public static List<Messages.TransferStatus> statuses(JsonObject reply) {
        Object v = reply.getValue("statuses");
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof JsonArray a) || a.size() > MAX_PING_ROOMS) {
            throw new IllegalArgumentException("statuses: expected an array of at most " + MAX_PING_ROOMS);
        }
        List<Messages.TransferStatus> out = new java.util.ArrayList<>(a.size());
        for (int k = 0; k < a.size(); k++) {
            if (!(a.getValue(k) instanceof JsonObject o)) {
                throw new IllegalArgumentException("statuses: expected objects");
            }
            out.add(status(o));
        }
        return out;
    }

    private static JsonObject segment(SegmentDescriptor d) {
        return new JsonObject().put("name", d.name()).put("host_id", d.hostId()).put("shm_path", d.shmPath())
                .put("tcp_host", d.tcpHost()).put("tcp_port", d.tcpPort()).put("bytes", d.bytes())
                .put("file_id", d.fileId()).put("nixl", d.nixl() == null ? null : new JsonObject()
                        .put("agent", d.nixl().agent()).put("worker_address", d.nixl().workerAddress())
                        .put("address", d.nixl().address()).put("rkey", d.nixl().rkey()));
    }

    private static SegmentDescriptor segment(JsonObject j) {
        return new SegmentDescriptor(text(j, "name"), text(j, "host_id"), optionalText(j, "shm_path"),
                text(j, "tcp_host"), integer(j, "tcp_port", 0, 65535), whole(j, "bytes", 1, Long.MAX_VALUE),
                optionalText(j, "file_id"), j.getValue("nixl") == null ? null : agentMemory(object(j, "nixl")));
    }

    /** A nixl segment's agent metadata: the byte strings must be base64 of bounded length. */
    private static AgentMemory agentMemory(JsonObject j) {
        return new AgentMemory(text(j, "agent"), base64(j, "worker_address"), whole(j, "address", 1, Long.MAX_VALUE),
                base64(j, "rkey"));
    }

    private static String base64(JsonObject j, String field) {
        Object v = j.getValue(field);
        if (!(v instanceof String s) || s.isEmpty() || s.length() > MAX_BLOB) {
            throw new IllegalArgumentException(field + ": expected a base64 string of 1.." + MAX_BLOB + " characters");
        }
        try {
            java.util.Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": not base64 (" + e.getMessage() + ")");
        }
        return s;
    }

    // Decoding is strict: these messages come from other processes, and a field of the wrong type or range is
    // refused with its name rather than failing later inside the transfer code.
    private static final int MAX_TEXT = 512;
    private static final int MAX_PAGES = 1 << 22;
    /** UCX worker addresses and packed remote keys (base64): a few hundred bytes with tcp and shared memory. */
    private static final int MAX_BLOB = 16384;

    private static long room(JsonObject j) {
        return whole(j, "room", 0, Long.MAX_VALUE);
    }

    private static JsonObject object(JsonObject j, String field) {
        if (!(j.getValue(field) instanceof JsonObject o)) {
            throw new IllegalArgumentException(field + ": expected an object, got " + j.getValue(field));
        }
        return o;
    }

    private static String text(JsonObject j, String field) {
        String s = optionalText(j, field);
        if (s == null || s.isEmpty()) {
            throw new IllegalArgumentException(field + ": expected a non-empty string");
        }
        return s;
    }

    private static String optionalText(JsonObject j, String field) {
        Object v = j.getValue(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s) || s.length() > MAX_TEXT) {
            throw new IllegalArgumentException(field + ": expected a string of at most " + MAX_TEXT + " characters");
        }
        return s;
    }

    private static String bounded(Object reason) {
        String s = reason == null ? "" : String.valueOf(reason);
        return s.length() > MAX_TEXT ? s.substring(0, MAX_TEXT) : s;
    }

    private static long whole(JsonObject j, String field, long min, long max) {
        Object v = j.getValue(field);
        // Only Integer and Long: a BigInteger (a value past 2^63) or a fraction would be silently truncated.
        if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < min
                || ((Number) v).longValue() > max) {
            throw new IllegalArgumentException(field + ": expected an integer in [" + min + ", " + max + "], got " + v);
        }
        return ((Number) v).longValue();
    }

    private static int integer(JsonObject j, String field, int min, int max) {
        return (int) whole(j, field, min, max);
    }
}
