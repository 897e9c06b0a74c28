package dev.tandem.transfer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One handler thread's batch reader ({@link TcpWireFormat}): fixed-size header buffers, never sized by a peer, and
 * its own {@link DeadlineIo}. Every length is checked before it is used; a batch that breaks a rule is refused
 * before any of its payload is read. Not thread-safe: the server lends each reader to one handler at a time.
 */
final class TcpBatchReader implements AutoCloseable {
    private static final long MAX_SLICE = 1L << 30; // a ByteBuffer view holds at most 2^31-1 bytes

    /** A rule the peer broke: it is answered with {@code status} and dropped. */
    static final class Refused extends Exception {
        final TcpRejection reason;
        final int status;

        Refused(TcpRejection reason, int status, String message) {
            super(message, null, false, false);
            this.reason = reason;
            this.status = status;
        }
    }

    private final DeadlineIo io;
    private final ByteBuffer head = ByteBuffer.allocate(8);                                   // magic, nameLength
    private final ByteBuffer nameAndCount = ByteBuffer.allocate(TcpWireFormat.MAX_NAME_BYTES + 4);
    private final ByteBuffer opHead = ByteBuffer.allocate(16);                                // dstOffset, length
    private final ByteBuffer status = ByteBuffer.allocate(4);

    TcpBatchReader() throws IOException {
        this.io = new DeadlineIo();
    }

    /** Reads one batch from {@code ch} into its segment; each read must progress within {@code timeoutNanos}. */
    void read(SocketChannel ch, Map<String, MemorySegment> segments, long timeoutNanos) throws IOException, Refused {
        head.clear();
        io.readFully(ch, head, timeoutNanos, "reading a batch header");
        int magic = head.getInt(0);
        int nameLength = head.getInt(4);
        if (magic != TcpWireFormat.MAGIC) {
            throw new Refused(TcpRejection.BAD_FRAME, TcpWireFormat.ERR_BAD_FRAME,
                    "sent batch magic 0x" + Integer.toHexString(magic));
        }
        if (nameLength < 1 || nameLength > TcpWireFormat.MAX_NAME_BYTES) {
            throw new Refused(TcpRejection.BAD_FRAME, TcpWireFormat.ERR_BAD_FRAME, "announced a segment name of "
                    + nameLength + " bytes (1.." + TcpWireFormat.MAX_NAME_BYTES + ")");
        }
        nameAndCount.clear().limit(nameLength + 4);
        io.readFully(ch, nameAndCount, timeoutNanos, "reading a batch header");
        String name = new String(nameAndCount.array(), 0, nameLength, StandardCharsets.UTF_8);
        int ops = nameAndCount.getInt(nameLength);
        MemorySegment seg = segments.get(name);
        if (seg == null) {
            throw new Refused(TcpRejection.UNKNOWN_SEGMENT, TcpWireFormat.ERR_UNKNOWN_SEGMENT,
                    "named unknown segment '" + TcpWireFormat.printable(name) + "'");
        }
        if (ops < 0 || ops > TcpWireFormat.MAX_OPS) {
            throw new Refused(TcpRejection.BAD_FRAME, TcpWireFormat.ERR_BAD_FRAME, "announced " + ops
                    + " ops (0.." + TcpWireFormat.MAX_OPS + ")");
        }
        long size = seg.byteSize();
        for (int i = 0; i < ops; i++) {
            opHead.clear();
            io.readFully(ch, opHead, timeoutNanos, "reading an op header");
            long dst = opHead.getLong(0);
            long len = opHead.getLong(8);
            if (dst < 0 || len < 0 || dst > size || len > size - dst) { // no overflow: size - dst >= 0 here
                throw new Refused(TcpRejection.OUT_OF_BOUNDS, TcpWireFormat.ERR_OUT_OF_BOUNDS, "wrote [" + dst
                        + ", +" + len + ") into segment '" + name + "' of " + size + " bytes");
            }
            for (long off = 0; off < len; off += MAX_SLICE) {
                long n = Math.min(MAX_SLICE, len - off);
                io.readFully(ch, seg.asSlice(dst + off, n).asByteBuffer(), timeoutNanos, "reading a payload");
            }
        }
    }

    /** Answers a batch: {@link TcpWireFormat#OK} once every byte landed. */
    void answer(SocketChannel ch, int code, long timeoutNanos) throws IOException {
        status.clear().putInt(code).flip();
        io.writeFully(ch, new ByteBuffer[] {status}, timeoutNanos, "answering a batch");
    }

    /** Tells a peer about to be dropped why, if its socket takes the 4 bytes at once (never waits). */
    void tryAnswer(SocketChannel ch, int code) {
        status.clear().putInt(code).flip();
        try {
            ch.write(status);
        } catch (IOException ignored) {
            // dropping it anyway
        }
    }

    /** Lets another reader serve {@code ch} next. */
    void release(SocketChannel ch) {
        try {
            io.release(ch);
        } catch (IOException | RuntimeException ignored) {
            // the channel is closed: its key went with it
        }
    }

    @Override
    public void close() {
        io.close();
    }
}
