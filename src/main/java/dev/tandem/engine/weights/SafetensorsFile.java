package dev.tandem.engine.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@code .safetensors} file mapped read-only into memory: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}}} and the raw little-endian data. Tensors are views into
 * the mapping; the mapping lives as long as the arena that the caller passes (the model owns it).
 */
public final class SafetensorsFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private final Path path;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.path = path;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Maps {@code path} into {@code arena} and parses its header; errors name the file and the bad field. */
    public static SafetensorsFile open(Path path, Arena arena) {
        String file = path.getFileName().toString();
        MemorySegment all;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (IOException e) {
            throw new WeightsException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (all.byteSize() < 8) {
            throw new WeightsException(file + ": truncated: " + all.byteSize() + " bytes, no header length");
        }
        long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > all.byteSize()) {
            throw new WeightsException(file + ": truncated or corrupt: header length " + headerLen
                    + " but the file has " + all.byteSize() + " bytes");
        }
        byte[] headerBytes = all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new WeightsException(file + ": header is not valid JSON (" + e.getMessage() + ")", e);
        }
        MemorySegment data = all.asSlice(8 + headerLen);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            tensors.put(e.getKey(), parseTensor(file, e.getKey(), e.getValue(), data));
        }
        return new SafetensorsFile(path, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static Tensor parseTensor(String file, String name, JsonNode info, MemorySegment data) {
        String where = file + ": tensor '" + name + "'";
        JsonNode dtype = info.get("dtype");
        JsonNode shapeNode = info.get("shape");
        JsonNode offsets = info.get("data_offsets");
        if (dtype == null || shapeNode == null || !shapeNode.isArray() || offsets == null || offsets.size() != 2) {
            throw new WeightsException(where + ": header entry needs 'dtype', 'shape' and 'data_offsets' [begin, end]");
        }
        DType type;
        try {
            type = DType.fromSafetensors(dtype.asText(), where);
        } catch (IllegalArgumentException e) {
            throw new WeightsException(e.getMessage(), e);
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
            if (shape[i] < 0) {
                throw new WeightsException(where + ": negative dimension in shape " + shapeNode);
            }
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        long expected = Tensor.numel(shape) * type.bytes();
        if (begin < 0 || end < begin || end - begin != expected) {
            throw new WeightsException(where + ": data_offsets [" + begin + ", " + end + "] do not hold "
                    + expected + " bytes of " + type + " " + shapeNode);
        }
        if (end > data.byteSize()) {
            throw new WeightsException(file + ": truncated: tensor '" + name + "' needs data bytes [" + begin + ", "
                    + end + ") but the file holds " + data.byteSize());
        }
        return new Tensor(name, type, shape, data.asSlice(begin, end - begin));
    }

    public Path path() {
        return path;
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }
}
