package dev.tandem.cli;

import dev.tandem.bench.BenchConfig;
import dev.tandem.bench.BenchReport;
import dev.tandem.bench.BenchRunner;
import dev.tandem.bench.ReportFormatter;
import dev.tandem.config.Args;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * {@code bench-serving --url URL [--num-prompts 100] [--request-rate inf] [--input-len 128] [--output-len 64]
 * [--seed 0] [--timeout 600] [--json]}: an open-loop load test of a server speaking SGLang's {@code /generate} API,
 * like SGLang's {@code bench_serving}. Prints the report to stdout (one JSON object with {@code --json}), progress to
 * stderr (and with {@code --json} the first error too). Exits 0 when at least one request succeeded, 1 otherwise.
 */
public final class BenchServingCommand {
    private BenchServingCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of("json"));
        String url = a.required("url");
        int numPrompts = a.integer("num-prompts", 100);
        double rate = BenchConfig.parseRate(a.string("request-rate", "inf"));
        int inputLen = a.integer("input-len", 128);
        int outputLen = a.integer("output-len", 64);
        long seed = a.longValue("seed", 0);
        double timeout = a.number("timeout", 600f);
        boolean json = a.flag("json");
        a.rejectUnknown();
        BenchConfig config = new BenchConfig(url, numPrompts, rate, inputLen, outputLen, seed, timeout);

        BenchReport report = new BenchRunner(config, msg -> System.err.println("[bench] " + msg)).run();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (json) {
            out.println(ReportFormatter.json(report, config));
        } else {
            out.print(ReportFormatter.text(report, config));
        }
        if (json && report.failed() > 0) { // the text report already ends with the first error
            System.err.printf("[bench] %d of %d requests failed; first error: %s%n", report.failed(),
                    config.numPrompts(), report.firstError());
        }
        return report.completed() > 0 ? 0 : 1;
    }
}
