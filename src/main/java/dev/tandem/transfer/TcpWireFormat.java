package dev.tandem.transfer;

/**
 * The TCP transport's framing. A batch: {@code int magic, int nameLength, name bytes, int opCount}, then per op
 * {@code long dstOffset, long length} followed by that many raw bytes. The server answers one {@code int} status
 * (0 ok, negative failure) after the whole batch landed. Big-endian header fields.
 */
final class TcpWireFormat {
    static final int MAGIC = 0x54444B56; // "TDKV"
    static final int OK = 0;
    static final int ERR_UNKNOWN_SEGMENT = -2;
    static final int ERR_OUT_OF_BOUNDS = -3;

    private TcpWireFormat() {
    }
}
