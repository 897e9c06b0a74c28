package dev.tandem.kvevents;

import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The two decoding paths of {@link KvEventCodec}: array-like (SGLang) and tagged maps (vLLM). */
final class KvEventDecoder {
    private KvEventDecoder() {
    }

    static KvEventBatch sglangBatch(MessageUnpacker u) throws IOException {
        int n = u.unpackArrayHeader();
        double ts = u.unpackDouble();
        List<KvEvent> events = new ArrayList<>();
        int count = n > 1 ? u.unpackArrayHeader() : 0;
        for (int i = 0; i < count; i++) {
            events.add(sglangEvent(u));
        }
        Long rank = n > 2 ? KvEventCodec.readNullableLong(u) : null;
        for (int i = 3; i < n; i++) {
            u.skipValue();
        }
        return new KvEventBatch(ts, events, rank == null ? null : rank.intValue());
    }

    private static KvEvent sglangEvent(MessageUnpacker u) throws IOException {
        int n = u.unpackArrayHeader();
        String tag = u.unpackString();
        KvEvent e = switch (tag) {
            case "BlockStored" -> new KvEvent.BlockStored(n > 1 ? KvEventCodec.readLongs(u) : List.of(),
                    n > 2 ? KvEventCodec.readNullableLong(u) : null, n > 3 ? KvEventCodec.readInts(u) : List.of(),
                    n > 4 ? u.unpackInt() : 0, n > 5 ? nullableInt(u) : null, n > 6 ? nullableString(u) : null);
            case "BlockRemoved" -> new KvEvent.BlockRemoved(n > 1 ? KvEventCodec.readLongs(u) : List.of(),
                    n > 2 ? nullableString(u) : null);
            case "AllBlocksCleared" -> new KvEvent.AllBlocksCleared();
            default -> throw new IOException("unknown event tag '" + tag + "'");
        };
        int used = switch (tag) {
            case "BlockStored" -> 7;
            case "BlockRemoved" -> 3;
            default -> 1;
        };
        for (int i = used; i < n; i++) {
            u.skipValue();
        }
        return e;
    }

    static KvEventBatch vllmBatch(MessageUnpacker u) throws IOException {
        int n = u.unpackMapHeader();
        double ts = 0;
        List<KvEvent> events = new ArrayList<>();
        Integer rank = null;
        for (int i = 0; i < n; i++) {
            switch (u.unpackString()) {
                case "ts" -> ts = u.unpackDouble();
                case "events" -> {
                    int c = u.unpackArrayHeader();
                    for (int k = 0; k < c; k++) {
                        events.add(vllmEvent(u));
                    }
                }
                case "data_parallel_rank", "attn_dp_rank" -> rank = nullableInt(u);
                default -> u.skipValue(); // medium and anything newer
            }
        }
        return new KvEventBatch(ts, events, rank);
    }

    private static KvEvent vllmEvent(MessageUnpacker u) throws IOException {
        int n = u.unpackMapHeader();
        String type = null;
        List<Long> hashes = List.of();
        Long parent = null;
        List<Integer> tokens = List.of();
        int blockSize = 0;
        Integer lora = null;
        String medium = null;
        for (int i = 0; i < n; i++) {
            switch (u.unpackString()) {
                case "type" -> type = u.unpackString();
                case "block_hashes" -> hashes = KvEventCodec.readLongs(u);
                case "parent_block_hash" -> parent = KvEventCodec.readNullableLong(u);
                case "token_ids" -> tokens = KvEventCodec.readInts(u);
                case "block_size" -> blockSize = u.unpackInt();
                case "lora_id" -> lora = nullableInt(u);
                case "medium" -> medium = nullableString(u);
                default -> u.skipValue();
            }
        }
        if (type == null) {
            throw new IOException("event map without a 'type'");
        }
        return switch (type) {
            case "BlockStored" -> new KvEvent.BlockStored(hashes, parent, tokens, blockSize, lora, medium);
            case "BlockRemoved" -> new KvEvent.BlockRemoved(hashes, medium);
            case "AllBlocksCleared" -> new KvEvent.AllBlocksCleared();
            default -> throw new IOException("unknown event type '" + type + "'");
        };
    }

    private static String nullableString(MessageUnpacker u) throws IOException {
        if (u.getNextFormat().getValueType() == ValueType.NIL) {
            u.unpackNil();
            return null;
        }
        return u.unpackString();
    }

    private static Integer nullableInt(MessageUnpacker u) throws IOException {
        if (u.getNextFormat().getValueType() == ValueType.NIL) {
            u.unpackNil();
            return null;
        }
        return u.unpackInt();
    }
}
