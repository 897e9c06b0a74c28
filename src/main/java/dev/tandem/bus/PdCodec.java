package dev.tandem.bus;

import dev.tandem.transfer.KvLayout;
import dev.tandem.transfer.KvPoll;
import dev.tandem.transfer.Messages;
import dev.tandem.transfer.SegmentDescriptor;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

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
                .put("attn_tp_size", r.attnTpSize());
    }

    public static Messages.KvArgsRegistration register(JsonObject j) {
        JsonObject l = j.getJsonObject("kv_layout");
        return new Messages.KvArgsRegistration(j.getString("decode_worker_id"), segment(j.getJsonObject("kv")),
                new KvLayout(l.getInteger("num_layers"), l.getLong("region_bytes"), l.getLong("page_bytes")),
                segment(j.getJsonObject("aux")), j.getInteger("aux_slots"), j.getInteger("engine_rank"),
                j.getInteger("attn_tp_size"));
    }

    public static JsonObject info(Messages.TransferInfo i) {
        JsonArray pages = new JsonArray();
        for (int p : i.dstPages()) {
            pages.add(p);
        }
        return new JsonObject().put("type", "info").put("room", i.room()).put("decode_worker_id", i.decodeWorkerId())
                .put("dst_pages", pages).put("dst_aux_index", i.dstAuxIndex())
                .put("required_dst_info_num", i.requiredDstInfoNum());
    }

    public static Messages.TransferInfo info(JsonObject j) {
        JsonArray a = j.getJsonArray("dst_pages");
        int[] pages = new int[a.size()];
        for (int k = 0; k < pages.length; k++) {
            pages[k] = a.getInteger(k);
        }
        return new Messages.TransferInfo(j.getLong("room"), j.getString("decode_worker_id"), pages,
                j.getInteger("dst_aux_index"), j.getInteger("required_dst_info_num"));
    }

    public static JsonObject abort(Messages.AbortRoom a) {
        return new JsonObject().put("type", "abort").put("room", a.room()).put("reason", a.reason());
    }

    public static Messages.AbortRoom abort(JsonObject j) {
        return new Messages.AbortRoom(j.getLong("room"), j.getString("reason"));
    }

    public static JsonObject status(Messages.TransferStatus s) {
        return new JsonObject().put("type", "status").put("room", s.room()).put("status", s.status().value())
                .put("prefill_rank", s.prefillRank()).put("reason", s.reason());
    }

    public static Messages.TransferStatus status(JsonObject j) {
        return new Messages.TransferStatus(j.getLong("room"), KvPoll.of(j.getInteger("status")),
                j.getInteger("prefill_rank"), j.getString("reason"));
    }

    private static JsonObject segment(SegmentDescriptor d) {
        return new JsonObject().put("name", d.name()).put("host_id", d.hostId()).put("shm_path", d.shmPath())
                .put("tcp_host", d.tcpHost()).put("tcp_port", d.tcpPort()).put("bytes", d.bytes());
    }

    private static SegmentDescriptor segment(JsonObject j) {
        return new SegmentDescriptor(j.getString("name"), j.getString("host_id"), j.getString("shm_path"),
                j.getString("tcp_host"), j.getInteger("tcp_port"), j.getLong("bytes"));
    }
}
