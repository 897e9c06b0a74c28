package dev.tandem.bench;

import java.util.List;
import java.util.Locale;

/**
 * The side-by-side table of {@code bench-pd}: one line per deployment (colocated, prefill + decode, colocated with a
 * smaller prefill chunk) run with the same workload, then a legend saying what each ran on. Latencies in
 * milliseconds; "n/a" where no request succeeded.
 */
public final class PdTable {
    private PdTable() {
    }

    /**
     * One deployment's outcome.
     *
     * @param label  short name in the table ("a colocated")
     * @param layout what ran, for the legend (processes, cores, threads, flags)
     * @param sameAs how its outputs compare with the reference row's for the same prompts ("16/16", "ref")
     */
    public record Row(String label, String layout, BenchReport report, Goodput goodput, String sameAs) {
    }

    public static String format(List<Row> rows, double sloTtftMs, double sloItlMs) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-16s %7s %9s %9s %8s %8s %9s %9s %7s %9s %15s %8s%n", "deployment",
                "ok/sent", "TTFT p50", "TTFT p99", "ITL p50", "ITL p99", "E2E p50", "E2E p99", "req/s", "out tok/s",
                "goodput", "=ref"));
        for (Row r : rows) {
            BenchReport p = r.report();
            Goodput g = r.goodput();
            b.append(String.format(Locale.ROOT, "%-16s %7s %9s %9s %8s %8s %9s %9s %7s %9s %15s %8s%n", r.label(),
                    p.completed() + "/" + g.sent(), ms(p.ttftMs().p50()), ms(p.ttftMs().p99()), ms(p.itlMs().p50()),
                    ms(p.itlMs().p99()), ms(p.e2eMs().p50()), ms(p.e2eMs().p99()), num(p.requestThroughput(), 2),
                    num(p.outputThroughput(), 1), pct(g.fraction()) + " " + num(g.ratePerS(), 2) + "/s", r.sameAs()));
        }
        b.append(String.format(Locale.ROOT, "latencies in ms; goodput: requests with TTFT <= %s ms and their own ITL "
                + "p99 <= %s ms (share of requests sent, and per second);%n=ref: outputs equal to row a's for the same "
                + "prompts (greedy)%n", num(sloTtftMs, 0), num(sloItlMs, 0)));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "  %-14s %s%n", r.label() + ":", r.layout()));
            if (r.report().firstError() != null) {
                b.append("  ".repeat(8)).append("first error: ").append(r.report().firstError()).append('\n');
            }
        }
        return b.toString();
    }

    private static String ms(double v) {
        return num(v, v >= 100 ? 0 : 1);
    }

    private static String pct(double f) {
        return Double.isFinite(f) ? String.format(Locale.ROOT, "%.0f%%", f * 100) : "n/a";
    }

    private static String num(double v, int decimals) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + decimals + "f", v) : "n/a";
    }
}
