package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.engine.tensor.DType;
import dev.tandem.modelgen.TinyModelWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/** {@code make-tiny-model --out DIR [--preset tiny|bench] [--seed N] [--dtype bf16|f16|f32] [--shards N] [--arch]}. */
public final class MakeTinyModelCommand {
    private MakeTinyModelCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of());
        Path out = Path.of(a.required("out"));
        String presetName = a.string("preset", "tiny");
        TinyModelWriter.Preset preset = switch (presetName) {
            case "tiny" -> TinyModelWriter.Preset.TINY;
            case "bench" -> TinyModelWriter.Preset.BENCH;
            default -> throw new ConfigException("--preset", presetName, "tiny or bench");
        };
        String dtypeName = a.string("dtype", "bf16");
        DType dtype;
        try {
            dtype = DType.valueOf(dtypeName.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--dtype", dtypeName, "bf16, f16 or f32");
        }
        var options = new TinyModelWriter.Options(preset, a.longValue("seed", 0), dtype, a.integer("shards", 1),
                a.string("arch", "llama"));
        a.rejectUnknown();
        long t0 = System.nanoTime();
        try {
            TinyModelWriter.write(out, options);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
        System.err.printf("wrote %s model (%s, seed %d) to %s in %d ms%n", presetName, dtype, options.seed(), out,
                (System.nanoTime() - t0) / 1_000_000);
        return 0;
    }
}
