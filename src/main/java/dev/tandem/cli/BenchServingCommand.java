package dev.tandem.cli;

import dev.tandem.bench.BenchConfig;
import dev.tandem.bench.BenchReport;
import dev.tandem.bench.BenchRunner;
import dev.tandem.bench.ReportFormatter;
import dev.tandem.config.Args;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.bench.Workload;
import dev.tandem.config.ConfigException;

/**
 * {@code bench-serving --url URL [--num-prompts 100] [--request-rate inf] [--input-len 128] [--output-len 64]
 * [--seed 0] [--timeout 600] [--json]}: an open-loop load test of a server speaking SGLang's {@code /generate} API,
 * like SGLang's {@code bench_serving}. Prints the report to stdout (one JSON object with {@code --json}), progress to
 * stderr (and with {@code --json} the first error too). Exits 0 when at least one request succeeded, 1 otherwise.
 *
 * <p>{@code --dataset shared-prefix [--gsp-num-groups 4] [--gsp-prompts-per-group 8] [--gsp-system-prompt-len 512]
 * [--gsp-question-len 32] [--gsp-turns 2]} replaces the random prompts (SGLang's {@code generated-shared-prefix}
 * plus follow-up turns). {@code --compare-policies cache_aware,round_robin --model DIR [--num-prefill 2]
 * [--max-total-tokens 32768]} instead of {@code --url} starts prefill + decode workers and one gateway per policy
 * in this JVM and runs the workload through each ({@link PolicyComparison}); {@code --max-total-tokens} sizes the
 * prefill workers' KV pools, so how much each can cache. {@code --dataset shared-prefix --compare-hicache
 * off,l2,l2+l3 --model DIR [--max-total-tokens 768] [--hicache-ratio 1.5] [--runs 3]} instead runs a colocated
 * worker per HiCache configuration in this JVM ({@link HiCacheComparison}) and prints them side by side.
 */
public final class BenchServingCommand {
    private BenchServingCommand() {
    }

    public static int run(String[] argv) throws Exception {
        Args a = Args.parse(argv, Set.of("json"));
        String compare = a.string("compare-policies", null);
        String hicache = a.string("compare-hicache", null); // HiCacheComparison: off,l2,l2+l3
        String url = compare != null || hicache != null ? "http://127.0.0.1:1" // the real one comes per run
                : a.required("url");
        int numPrompts = a.integer("num-prompts", 100);
        double rate = BenchConfig.parseRate(a.string("request-rate", "inf"));
        int inputLen = a.integer("input-len", 128);
        int outputLen = a.integer("output-len", 64);
        long seed = a.longValue("seed", 0);
        double timeout = a.number("timeout", 600f);
        boolean json = a.flag("json");
        String dataset = a.string("dataset", "random");
        Workload workload;
        if (dataset.equals("shared-prefix")) {
            workload = Workload.sharedPrefix(positive(a, "gsp-num-groups", 4), positive(a, "gsp-prompts-per-group", 8),
                    positive(a, "gsp-system-prompt-len", 512), positive(a, "gsp-question-len", 32), outputLen,
                    positive(a, "gsp-turns", 2), rate, seed);
            numPrompts = workload.size();
            inputLen = (int) Math.round(java.util.Arrays.stream(workload.inputLens()).average().orElse(1));
        } else if (dataset.equals("random")) {
            workload = Workload.generate(numPrompts, inputLen, rate, seed);
        } else {
            throw new ConfigException("--dataset", dataset, "random or shared-prefix");
        }
        String model = compare != null || hicache != null ? a.required("model") : null;
        int numPrefill = a.integer("num-prefill", 2);
        int maxTotalTokens = a.integer("max-total-tokens", hicache != null ? 768 : 32768);
        double hicacheRatio = hicache != null ? a.number("hicache-ratio", 1.5f) : 0;
        int hicacheRuns = hicache != null ? positive(a, "runs", 3) : 1;
        a.rejectUnknown();
        BenchConfig config = new BenchConfig(url, numPrompts, rate, inputLen, outputLen, seed, timeout);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (hicache != null) {
            if (!dataset.equals("shared-prefix")) {
                throw new ConfigException("--dataset", dataset, "shared-prefix with --compare-hicache (prefixes that "
                        + "outgrow the KV pool)");
            }
            return new HiCacheComparison(msg -> System.err.println("[bench] " + msg)).run(
                    HiCacheComparison.configs(hicache), model, maxTotalTokens, hicacheRatio, hicacheRuns, config, workload,
                    out);
        }
        if (compare != null) {
            List<String> policies = List.of(compare.split(","));
            Map<String, PolicyComparison.Run> runs = new PolicyComparison(msg -> System.err.println("[bench] " + msg))
                    .run(policies, model, numPrefill, maxTotalTokens, config, workload);
            ObjectNode all = new ObjectMapper().createObjectNode();
            for (var e : runs.entrySet()) {
                if (json) {
                    all.set(e.getKey(), ReportFormatter.json(e.getValue().report(), e.getValue().config()));
                } else {
                    out.println("policy: " + e.getKey());
                    out.print(ReportFormatter.text(e.getValue().report(), e.getValue().config()));
                }
            }
            if (json) {
                out.println(all);
            } else {
                out.printf("%-14s %12s %12s %12s %10s%n", "policy", "mean TTFT", "p90 TTFT", "hit rate", "req/s");
                runs.forEach((p, run) -> {
                    BenchReport r = run.report();
                    out.printf(java.util.Locale.ROOT, "%-14s %9.1f ms %9.1f ms %11.1f%% %10.2f%n", p,
                            r.ttftMs().mean(), r.ttftMs().p90(), r.cacheHitRate() * 100, r.requestThroughput());
                });
            }
            return runs.values().stream().allMatch(r -> r.report().completed() > 0) ? 0 : 1;
        }

        BenchReport report = new BenchRunner(config, workload, msg -> System.err.println("[bench] " + msg)).run();
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

    private static int positive(Args a, String flag, int dflt) {
        int v = a.integer(flag, dflt);
        if (v < 1) {
            throw new ConfigException("--" + flag, v, "an integer >= 1");
        }
        return v;
    }
}
