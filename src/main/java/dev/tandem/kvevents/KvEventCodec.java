package dev.tandem.kvevents;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * msgpack for event batches in two wire forms. {@code SGLANG}: msgspec's array-like structs, each event an array
 * whose first element is its class name (§8.2), the batch {@code [ts, events, attn_dp_rank]}. {@code VLLM}: the
 * tagged-map form (each struct a map of field names, events tagged by a {@code "type"} key, the batch with
 * {@code "medium"} and {@code "data_parallel_rank"}). The decoder reads both, ignores unknown map keys and accepts
 * arrays shorter than the current field list.
 */
public final class KvEventCodec {
    /** Which wire form to write. */
    public enum Format { SGLANG, VLLM }

    private KvEventCodec() {
    }

    public static byte[] encode(KvEventBatch batch, Format format) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            if (format == Format.SGLANG) {
                p.packArrayHeader(3);
                p.packDouble(batch.ts());
                p.packArrayHeader(batch.events().size());
                for (KvEvent e : batch.events()) {
                    sglangEvent(p, e);
                }
                packNullable(p, batch.attnDpRank());
            } else {
                p.packMapHeader(4);
                p.packString("ts").packDouble(batch.ts());
                p.packString("events").packArrayHeader(batch.events().size());
                for (KvEvent e : batch.events()) {
                    vllmEvent(p, e);
                }
                p.packString("data_parallel_rank");
                packNullable(p, batch.attnDpRank());
                p.packString("medium").packString("GPU");
            }
            return p.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sglangEvent(MessageBufferPacker p, KvEvent e) throws IOException {
        switch (e) {
            case KvEvent.BlockStored s -> {
                // medium, vLLM's trailing field, only off the device pool: device events stay SGLang's six fields
                p.packArrayHeader(s.medium() == null ? 6 : 7).packString("BlockStored");
                longs(p, s.blockHashes());
                packNullable(p, s.parentBlockHash());
                ints(p, s.tokenIds());
                p.packInt(s.blockSize());
                packNullable(p, s.loraId());
                if (s.medium() != null) {
                    p.packString(s.medium());
                }
            }
            case KvEvent.BlockRemoved r -> {
                p.packArrayHeader(r.medium() == null ? 2 : 3).packString("BlockRemoved");
                longs(p, r.blockHashes());
                if (r.medium() != null) {
                    p.packString(r.medium());
                }
            }
            case KvEvent.AllBlocksCleared c -> p.packArrayHeader(1).packString("AllBlocksCleared");
        }
    }

    private static void vllmEvent(MessageBufferPacker p, KvEvent e) throws IOException {
        switch (e) {
            case KvEvent.BlockStored s -> {
                p.packMapHeader(7).packString("type").packString("BlockStored");
                p.packString("block_hashes");
                longs(p, s.blockHashes());
                p.packString("parent_block_hash");
                packNullable(p, s.parentBlockHash());
                p.packString("token_ids");
                ints(p, s.tokenIds());
                p.packString("block_size").packInt(s.blockSize());
                p.packString("lora_id");
                packNullable(p, s.loraId());
                p.packString("medium").packString(s.medium() == null ? "GPU" : s.medium());
            }
            case KvEvent.BlockRemoved r -> {
                p.packMapHeader(3).packString("type").packString("BlockRemoved");
                p.packString("block_hashes");
                longs(p, r.blockHashes());
                p.packString("medium").packString(r.medium() == null ? "GPU" : r.medium());
            }
            case KvEvent.AllBlocksCleared c -> p.packMapHeader(1).packString("type").packString("AllBlocksCleared");
        }
    }

    private static void longs(MessageBufferPacker p, List<Long> v) throws IOException {
        p.packArrayHeader(v.size());
        for (long x : v) {
            p.packLong(x);
        }
    }

    private static void ints(MessageBufferPacker p, List<Integer> v) throws IOException {
        p.packArrayHeader(v.size());
        for (int x : v) {
            p.packInt(x);
        }
    }

    private static void packNullable(MessageBufferPacker p, Number n) throws IOException {
        if (n == null) {
            p.packNil();
        } else {
            p.packLong(n.longValue());
        }
    }

    /** Reads a batch in either form. */
    public static KvEventBatch decode(byte[] bytes) {
        try (MessageUnpacker u = MessagePack.newDefaultUnpacker(bytes)) {
            return u.getNextFormat().getValueType() == ValueType.MAP ? KvEventDecoder.vllmBatch(u)
                    : KvEventDecoder.sglangBatch(u);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a KV event batch: " + e.getMessage(), e);
        }
    }

    static List<Long> readLongs(MessageUnpacker u) throws IOException {
        int n = u.unpackArrayHeader();
        List<Long> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(u.unpackLong());
        }
        return out;
    }

    static List<Integer> readInts(MessageUnpacker u) throws IOException {
        int n = u.unpackArrayHeader();
        List<Integer> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(u.unpackInt());
        }
        return out;
    }

    static Long readNullableLong(MessageUnpacker u) throws IOException {
        if (u.tryUnpackNil()) {
            return null;
        }
        return u.unpackLong();
    }
}
