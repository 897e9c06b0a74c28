package dev.tandem.bus;

import dev.tandem.transfer.KvFormat;
import dev.tandem.transfer.KvLayout;
import dev.tandem.transfer.Messages;
import dev.tandem.transfer.SegmentDescriptor;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Frame A's {@code kv_format} (KV dtype, weight quantization, page size): it crosses the bus intact, a registration
 * without it still parses (checked on layout only), and {@link KvFormat#requireSame} refuses a pair that differs,
 * naming both values of each field that differs.
 */
class KvFormatCodecTest {
    private static final SegmentDescriptor SEG = new SegmentDescriptor("kv", "host-a", "/dev/shm/x", "10.0.0.2", 4000,
            1L << 20, null, null);

    @Test
    void theFormatRoundTripsAndIsOptional() {
        var format = new KvFormat("bf16", "int8", 16);
        var reg = new Messages.KvArgsRegistration("d1", SEG, new KvLayout(4, 65536, 2048), SEG, 32, 0, 1, "inc-1",
                format);
        JsonObject j = new JsonObject(PdCodec.register(reg).encode());
        assertEquals(reg, PdCodec.register(j));
        j.remove("kv_format");
        assertNull(PdCodec.register(j).format(), "an undeclared format parses as none");
        j.put("kv_format", new JsonObject().put("kv_cache_dtype", "bf16").put("quantization", "none")
                .put("page_size", 0));
        assertThrows(IllegalArgumentException.class, () -> PdCodec.register(j));
    }

    @Test
    void aDifferentFormatIsRefusedNamingBothValues() {
        var prefill = new KvFormat("float32", "none", 16);
        assertDoesNotThrow(() -> KvFormat.requireSame(prefill, new KvFormat("float32", "none", 16), "d"));
        assertDoesNotThrow(() -> KvFormat.requireSame(prefill, null, "d"));
        String dtype = assertThrows(IllegalArgumentException.class,
                () -> KvFormat.requireSame(prefill, new KvFormat("bf16", "none", 16), "d7")).getMessage();
        assertTrue(dtype.contains("decode worker d7") && dtype.contains("kv_cache_dtype is bf16 on the decode worker"
                + " but float32 here") && !dtype.contains("page_size is"), dtype);
        String both = assertThrows(IllegalArgumentException.class,
                () -> KvFormat.requireSame(prefill, new KvFormat("float32", "int8", 32), "d")).getMessage();
        assertTrue(both.contains("quantization is int8 on the decode worker but none here")
                && both.contains("page_size is 32 on the decode worker but 16 here"), both);
    }
}
