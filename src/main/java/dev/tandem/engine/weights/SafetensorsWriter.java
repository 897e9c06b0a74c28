package dev.tandem.engine.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.engine.tensor.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a {@code .safetensors} file from float data, converting to the requested dtype. Tensors are produced lazily
 * by a {@link Source} so a large model never needs to sit in memory at once.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {
    }

    /** Fills {@code out} with elements {@code [from, from + out.length)} of a tensor, in row-major order. */
    @FunctionalInterface
    public interface Source {
        void fill(long from, float[] out);
    }

    /** A tensor to write. */
    public record Entry(String name, DType dtype, long[] shape, Source source) {
    }

    public static void write(Path file, List<Entry> entries) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        List<long[]> ranges = new ArrayList<>();
        for (Entry e : entries) {
            long bytes = numel(e.shape()) * e.dtype().bytes();
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", e.dtype().name());
            var shape = t.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            ranges.add(new long[] {offset, bytes});
            offset += bytes;
        }
        byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8; // data starts 8-byte aligned; the spec pads with spaces
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(h);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (head.hasRemaining()) {
                ch.write(head);
            }
            for (Entry e : entries) {
                writeData(ch, e);
            }
        }
    }

    private static void writeData(FileChannel ch, Entry e) throws IOException {
        long n = numel(e.shape());
        int chunk = 1 << 16;
        float[] buf = new float[chunk];
        ByteBuffer bb = ByteBuffer.allocate(chunk * e.dtype().bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (long from = 0; from < n; from += chunk) {
            int len = (int) Math.min(chunk, n - from);
            float[] part = len == chunk ? buf : new float[len];
            e.source().fill(from, part);
            bb.clear();
            for (float f : part) {
                switch (e.dtype()) {
                    case F32 -> bb.putFloat(f);
                    case F16 -> bb.putShort(Float.floatToFloat16(f));
                    case BF16 -> bb.putShort(DType.floatToBf16(f));
                }
            }
            bb.flip();
            while (bb.hasRemaining()) {
                ch.write(bb);
            }
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
