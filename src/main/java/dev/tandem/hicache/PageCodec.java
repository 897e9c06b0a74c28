package dev.tandem.hicache;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * One stored page as bytes: {@code "THC1"}, the key (2-byte length, ASCII), the payload length (8 bytes), the
 * payload's CRC32C (4 bytes), then the payload; little-endian. The {@code file} backend writes the same layout, so
 * a value that is not exactly what was stored under its key is recognised on read.
 */
final class PageCodec {
    static final int MAGIC = 0x31434854; // "THC1" little-endian

    private PageCodec() {
    }

    static int headerBytes(byte[] key) {
        return 4 + 2 + key.length + 8 + 4;
    }

    static int crc(MemorySegment payload) {
        CRC32C c = new CRC32C();
        c.update(payload.asByteBuffer());
        return (int) c.getValue();
    }

    /** The header for {@code payload} stored under {@code key}, ready to write. */
    static ByteBuffer header(byte[] key, MemorySegment payload) {
        ByteBuffer h = ByteBuffer.allocate(headerBytes(key)).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(MAGIC).putShort((short) key.length).put(key).putLong(payload.byteSize()).putInt(crc(payload));
        return h.flip();
    }

    /** Header and payload in one array. */
    static byte[] encode(String key, MemorySegment payload) {
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer h = header(k, payload);
        byte[] out = new byte[Math.toIntExact(h.remaining() + payload.byteSize())];
        h.get(out, 0, h.remaining());
        MemorySegment.copy(payload, 0, MemorySegment.ofArray(out), headerBytes(k), payload.byteSize());
        return out;
    }

    /**
     * The payload's checksum when {@code header} is a valid header for {@code key} and a payload of
     * {@code payloadBytes}; null otherwise.
     */
    static Integer checkHeader(ByteBuffer header, byte[] key, long payloadBytes) {
        header.order(ByteOrder.LITTLE_ENDIAN);
        if (header.remaining() < headerBytes(key) || header.getInt() != MAGIC || header.getShort() != key.length) {
            return null;
        }
        byte[] stored = new byte[key.length];
        header.get(stored);
        if (!Arrays.equals(stored, key) || header.getLong() != payloadBytes) {
            return null;
        }
        return header.getInt();
    }

    /** Copies the payload of {@code value} into {@code target}; false when {@code value} is not a whole, intact page. */
    static boolean decode(String key, byte[] value, MemorySegment target) {
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        int hb = headerBytes(k);
        if (value.length != hb + target.byteSize()) {
            return false;
        }
        Integer crc = checkHeader(ByteBuffer.wrap(value, 0, hb), k, target.byteSize());
        if (crc == null) {
            return false;
        }
        MemorySegment.copy(MemorySegment.ofArray(value), hb, target, 0, target.byteSize());
        return crc(target) == crc;
    }
}
