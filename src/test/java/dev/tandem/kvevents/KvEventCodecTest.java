package dev.tandem.kvevents;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KvEventCodecTest {
    private static final KvEventBatch EXAMPLE = new KvEventBatch(1.5, List.of(
            new KvEvent.BlockStored(List.of(-6650323075460941099L), null, List.of(128000, 791), 2, null),
            new KvEvent.BlockRemoved(List.of(5L)),
            new KvEvent.AllBlocksCleared()), 0);

    @Test
    void theSglangFormReproducesTheReferenceBytes() {
        String hex = "93" + "cb3ff8000000000000" + "93"
                + "96" + "ab" + ascii("BlockStored") + "91" + "d3a3b54e65d5913ad5" + "c0" + "92" + "ce0001f400"
                + "cd0317" + "02" + "c0"
                + "92" + "ac" + ascii("BlockRemoved") + "91" + "05"
                + "91" + "b0" + ascii("AllBlocksCleared")
                + "00";
        assertEquals(hex, HexFormat.of().formatHex(KvEventCodec.encode(EXAMPLE, KvEventCodec.Format.SGLANG)));
    }

    private static String ascii(String s) {
        return HexFormat.of().formatHex(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    void bothFormsDecodeToTheSameBatch() {
        assertEquals(EXAMPLE, KvEventCodec.decode(KvEventCodec.encode(EXAMPLE, KvEventCodec.Format.SGLANG)));
        assertEquals(EXAMPLE, KvEventCodec.decode(KvEventCodec.encode(EXAMPLE, KvEventCodec.Format.VLLM)));
    }

    @Test
    void shortArraysAndUnknownMapKeysAreAccepted() {
        // [ts, [["BlockRemoved", [7]]]] without a rank; and a vLLM map with a field from the future.
        byte[] shortArray = HexFormat.of().parseHex("92cb3ff0000000000000" + "91" + "92ac"
                + ascii("BlockRemoved") + "9107");
        assertEquals(new KvEventBatch(1.0, List.of(new KvEvent.BlockRemoved(List.of(7L))), null),
                KvEventCodec.decode(shortArray));
        byte[] map = HexFormat.of().parseHex("83" + "a2" + ascii("ts") + "cb4000000000000000" + "a6" + ascii("events")
                + "91" + "82" + "a4" + ascii("type") + "b0" + ascii("AllBlocksCleared") + "a6" + ascii("future") + "c3"
                + "a3" + ascii("new") + "01");
        assertEquals(new KvEventBatch(2.0, List.of(new KvEvent.AllBlocksCleared()), null), KvEventCodec.decode(map));
    }

    @Test
    void hostMemoryBlocksCarryTheirMediumInBothForms() {
        KvEventBatch host = new KvEventBatch(3.0, List.of(
                new KvEvent.BlockStored(List.of(9L), 8L, List.of(1, 2), 2, null, KvEvent.HOST),
                new KvEvent.BlockRemoved(List.of(9L), KvEvent.HOST),
                new KvEvent.BlockStored(List.of(10L), null, List.of(3, 4), 2, null, "GPU")), 0);
        assertEquals(null, ((KvEvent.BlockStored) host.events().get(2)).medium(), "GPU is the device pool: null");
        for (KvEventCodec.Format f : KvEventCodec.Format.values()) {
            assertEquals(host, KvEventCodec.decode(KvEventCodec.encode(host, f)), f.name());
        }
        // SGLang's array form: the medium is a seventh (third) element, only off the device pool.
        String hex = HexFormat.of().formatHex(KvEventCodec.encode(host, KvEventCodec.Format.SGLANG));
        assertEquals(true, hex.contains("97ab" + ascii("BlockStored")) && hex.contains("93ac" + ascii("BlockRemoved"))
                && hex.contains("96ab" + ascii("BlockStored")), hex);
        assertEquals(true, hex.contains("a3" + ascii("CPU")));
    }

    @Test
    void tupleHashMatchesCpython() {
        assertEquals(-6650323075460941099L, TupleHash.hash(List.of(128000, 791, 6864, 3363, 315, 9822, 374)));
        assertEquals(-6650323075460941099L, TupleHash.hash(new int[] {0, 128000, 791, 6864, 3363, 315, 9822, 374}, 1, 8));
        assertEquals(-2, TupleHash.intHash(-1));
        assertEquals(5, TupleHash.intHash(5));
        assertEquals(0, TupleHash.intHash((1L << 61) - 1));
    }
}
