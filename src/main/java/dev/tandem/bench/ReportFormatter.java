package dev.tandem.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Locale;

/**
 * Prints a {@link BenchReport}: a human table laid out like SGLang's {@code bench_serving}, or one JSON object for
 * scripts. Numbers that do not exist (no successful request, no ITL sample) are "n/a" in text and null in JSON, never
 * NaN, which is not valid JSON.
 */
public final class ReportFormatter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String RULE = "=".repeat(50);

    private ReportFormatter() {
    }

    public static String text(BenchReport r, BenchConfig c) {
        StringBuilder b = new StringBuilder();
        b.append(center(" Serving Benchmark Result ", '=')).append('\n');
        row(b, "Backend URL:", c.url());
        row(b, "Traffic request rate (req/s):", c.rateLabel());
        row(b, "Input / output length (tokens):", c.inputLen() + " / " + c.outputLen());
        row(b, "Successful requests:", String.valueOf(r.completed()));
        row(b, "Failed requests:", String.valueOf(r.failed()));
        row(b, "Benchmark duration (s):", fmt(r.durationS()));
        row(b, "Total input tokens:", String.valueOf(r.totalInputTokens()));
        row(b, "Total generated tokens:", String.valueOf(r.totalOutputTokens()));
        row(b, "Request throughput (req/s):", fmt(r.requestThroughput()));
        row(b, "Input token throughput (tok/s):", fmt(r.inputThroughput()));
        row(b, "Output token throughput (tok/s):", fmt(r.outputThroughput()));
        row(b, "Cached prompt tokens:", String.valueOf(r.totalCachedTokens()));
        row(b, "Cache hit rate (%):", fmt(r.cacheHitRate() * 100));
        latency(b, "Time to First Token", "TTFT", r.ttftMs());
        latency(b, "Inter-Token Latency", "ITL", r.itlMs());
        latency(b, "End-to-End Latency", "E2E", r.e2eMs());
        b.append(RULE).append('\n');
        if (r.firstError() != null) {
            b.append("First error: ").append(r.firstError()).append('\n');
        }
        return b.toString();
    }

    public static ObjectNode json(BenchReport r, BenchConfig c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("url", c.url());
        if (Double.isInfinite(c.requestRate())) {
            o.put("request_rate", "inf");
        } else {
            o.put("request_rate", c.requestRate());
        }
        o.put("num_prompts", c.numPrompts());
        o.put("input_len", c.inputLen());
        o.put("output_len", c.outputLen());
        o.put("completed", r.completed());
        o.put("failed", r.failed());
        num(o, "duration_s", r.durationS());
        o.put("total_input_tokens", r.totalInputTokens());
        o.put("total_output_tokens", r.totalOutputTokens());
        num(o, "request_throughput", r.requestThroughput());
        num(o, "input_throughput", r.inputThroughput());
        num(o, "output_throughput", r.outputThroughput());
        o.put("total_cached_tokens", r.totalCachedTokens());
        num(o, "cache_hit_rate", r.cacheHitRate());
        summary(o.putObject("ttft_ms"), r.ttftMs());
        summary(o.putObject("itl_ms"), r.itlMs());
        summary(o.putObject("e2e_ms"), r.e2eMs());
        if (r.firstError() == null) {
            o.putNull("first_error");
        } else {
            o.put("first_error", r.firstError());
        }
        return o;
    }

    private static void summary(ObjectNode o, Stats.Summary s) {
        num(o, "mean", s.mean());
        num(o, "p50", s.p50());
        num(o, "p90", s.p90());
        num(o, "p99", s.p99());
    }

    private static void num(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }

    private static void latency(StringBuilder b, String title, String abbr, Stats.Summary s) {
        b.append(center(title, '-')).append('\n');
        row(b, "Mean " + abbr + " (ms):", fmt(s.mean()));
        row(b, "P50 " + abbr + " (ms):", fmt(s.p50()));
        row(b, "P90 " + abbr + " (ms):", fmt(s.p90()));
        row(b, "P99 " + abbr + " (ms):", fmt(s.p99()));
    }

    private static void row(StringBuilder b, String label, String value) {
        b.append(String.format(Locale.ROOT, "%-40s%10s\n", label, value));
    }

    private static String fmt(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f", v) : "n/a";
    }

    private static String center(String s, char fill) {
        int left = Math.max(0, (RULE.length() - s.length()) / 2);
        int right = Math.max(0, RULE.length() - s.length() - left);
        return String.valueOf(fill).repeat(left) + s + String.valueOf(fill).repeat(right);
    }
}
