package dev.tandem.engine.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.engine.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * All tensors of a model directory: a single {@code model.safetensors}, several {@code *.safetensors}, or shards
 * listed by {@code model.safetensors.index.json}. Owns the mappings: {@link #close()} unmaps every file.
 */
public final class WeightStore implements AutoCloseable {
    public static final String INDEX = "model.safetensors.index.json";

    private final Arena arena;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> fileOf;
    private final long bytes;

    private WeightStore(Arena arena, Map<String, Tensor> tensors, Map<String, String> fileOf, long bytes) {
        this.arena = arena;
        this.tensors = tensors;
        this.fileOf = fileOf;
        this.bytes = bytes;
    }

    /** Maps the weights of {@code dir}; {@code progress} hears one line per file mapped. */
    public static WeightStore open(Path dir, Consumer<String> progress) {
        List<Path> files = weightFiles(dir);
        Arena arena = Arena.ofShared();
        try {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> fileOf = new HashMap<>();
            long bytes = 0;
            for (int i = 0; i < files.size(); i++) {
                Path f = files.get(i);
                long t0 = System.nanoTime();
                SafetensorsFile sf = SafetensorsFile.open(f, arena);
                for (Tensor t : sf.tensors().values()) {
                    if (tensors.put(t.name(), t) != null) {
                        throw new WeightsException(f.getFileName() + ": tensor '" + t.name()
                                + "' also appears in " + fileOf.get(t.name()));
                    }
                    fileOf.put(t.name(), f.getFileName().toString());
                    bytes += t.data().byteSize();
                }
                progress.accept(String.format("mapped %s (%d/%d, %d tensors, %.1f MB) in %d ms", f.getFileName(),
                        i + 1, files.size(), sf.tensors().size(), Files.size(f) / 1e6,
                        (System.nanoTime() - t0) / 1_000_000));
            }
            checkIndexComplete(dir, tensors);
            return new WeightStore(arena, tensors, fileOf, bytes);
        } catch (RuntimeException | IOException e) {
            arena.close();
            if (e instanceof WeightsException we) {
                throw we;
            }
            throw new WeightsException(dir + ": " + e.getMessage(), e);
        }
    }

    private static List<Path> weightFiles(Path dir) {
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode map = readIndex(index).get("weight_map");
            if (map == null || !map.isObject() || map.isEmpty()) {
                throw new WeightsException(INDEX + ": missing or empty field 'weight_map'");
            }
            TreeSet<String> names = new TreeSet<>();
            map.fields().forEachRemaining(e -> names.add(e.getValue().asText()));
            List<Path> files = new ArrayList<>();
            for (String n : names) {
                Path p = dir.resolve(n);
                if (!Files.isRegularFile(p)) {
                    throw new WeightsException(INDEX + ": weight_map names shard '" + n + "', which does not exist");
                }
                files.add(p);
            }
            return files;
        }
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            if (files.isEmpty()) {
                throw new WeightsException(dir + ": no *.safetensors file and no " + INDEX);
            }
            return files;
        } catch (IOException e) {
            throw new WeightsException(dir + ": cannot list (" + e.getMessage() + ")", e);
        }
    }

    private static JsonNode readIndex(Path index) {
        try {
            return new ObjectMapper().readTree(index.toFile());
        } catch (IOException e) {
            throw new WeightsException(INDEX + ": not valid JSON (" + e.getMessage() + ")", e);
        }
    }

    private static void checkIndexComplete(Path dir, Map<String, Tensor> tensors) {
        Path index = dir.resolve(INDEX);
        if (!Files.isRegularFile(index)) {
            return;
        }
        readIndex(index).get("weight_map").fields().forEachRemaining(e -> {
            if (!tensors.containsKey(e.getKey())) {
                throw new WeightsException(INDEX + ": tensor '" + e.getKey() + "' is mapped to " + e.getValue().asText()
                        + " but that shard does not contain it");
            }
        });
    }

    /** The tensor called {@code name} with exactly {@code shape}; otherwise an error naming both. */
    public Tensor require(String name, long... shape) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new WeightsException("missing tensor '" + name + "' (expected shape " + Arrays.toString(shape)
                    + ") in the model's safetensors");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new WeightsException(fileOf.get(name) + ": tensor '" + name + "' has shape "
                    + Arrays.toString(t.shape()) + ", config.json implies " + Arrays.toString(shape));
        }
        return t;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** Total bytes of tensor data mapped. */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
