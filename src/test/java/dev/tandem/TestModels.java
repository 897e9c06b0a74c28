package dev.tandem;

import dev.tandem.engine.tensor.DType;
import dev.tandem.modelgen.TinyModelWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Model directories generated for tests under {@code target/test-models}, once per test JVM. Nothing binary is
 * committed: every test model comes from {@link TinyModelWriter} with a fixed seed.
 */
public final class TestModels {
    private static final Path ROOT = Path.of("target", "test-models");
    private static final ConcurrentHashMap<String, Path> MADE = new ConcurrentHashMap<>();

    private TestModels() {
    }

    /** The tiny Llama (BF16, seed 7). */
    public static Path tiny() {
        return make("tiny-bf16", new TinyModelWriter.Options(TinyModelWriter.Preset.TINY, 7, DType.BF16, 1, "llama"));
    }

    /** Head size 64 like the bench preset (BF16, seed 7): on AVX-512 its attention takes the 16-position blocks. */
    public static Path head64() {
        return make("head64-bf16", new TinyModelWriter.Options(TinyModelWriter.Preset.HEAD64, 7, DType.BF16, 1,
                "llama"));
    }

    public static Path make(String name, TinyModelWriter.Options options) {
        return MADE.computeIfAbsent(name, n -> {
            Path dir = ROOT.resolve(n);
            try {
                Files.createDirectories(ROOT);
                TinyModelWriter.write(dir, options);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return dir;
        });
    }
}
