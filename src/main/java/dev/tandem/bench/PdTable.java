package dev.tandem.bench;

import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The side-by-side table of {@code bench-pd}: one line per deployment (colocated, prefill + decode, colocated with a
 * smaller prefill chunk) run with the same workload, then a legend saying what each ran on. With several runs each
 * figure is the median of that figure over the runs. Latencies in milliseconds; "n/a" where no request succeeded.
 */
public final class PdTable {
    private PdTable() {
    }

    /**
     * One deployment's outcome over one or more runs.
     *
     * @param label    short name in the table ("a colocated")
     * @param layout   what ran, for the legend (processes, cores, threads, flags)
     * @param reports  one per run, in run order
     * @param goodputs one per run, in run order
     * @param sameAs   how its outputs compare with the reference row's for the same prompts ("16/16", "ref")
     */
    public record Row(String label, String layout, List<BenchReport> reports, List<Goodput> goodputs, String sameAs) {
        public Row {
            reports = List.copyOf(reports);
            goodputs = List.copyOf(goodputs);
            if (reports.isEmpty() || reports.size() != goodputs.size()) {
                throw new IllegalArgumentException(label + ": " + reports.size() + " reports, " + goodputs.size()
                        + " goodputs");
            }
        }

        public Row(String label, String layout, BenchReport report, Goodput goodput, String sameAs) {
            this(label, layout, List.of(report), List.of(goodput), sameAs);
        }

        /** Successful requests over every run. */
        public int completed() {
            return reports.stream().mapToInt(BenchReport::completed).sum();
        }

        /** Requests sent over every run. */
        public int sent() {
            return goodputs.stream().mapToInt(Goodput::sent).sum();
        }

        double median(ToDoubleFunction<BenchReport> f) {
            return Stats.percentile(reports.stream().mapToDouble(f).toArray(), 50);
        }

        double medianGoodput(ToDoubleFunction<Goodput> f) {
            return Stats.percentile(goodputs.stream().mapToDouble(f).toArray(), 50);
        }
    }

    public static String format(List<Row> rows, double sloTtftMs, double sloItlMs) {
        StringBuilder b = new StringBuilder();
        int runs = rows.isEmpty() ? 1 : rows.get(0).reports().size();
        if (runs > 1) {
            b.append("each figure: the median over ").append(runs).append(" runs (rows interleaved a, b, c, a, b, c, "
                    + "...); ok/sent and =ref: all runs\n");
        }
        b.append(String.format(Locale.ROOT, "%-16s %7s %9s %9s %8s %8s %9s %9s %7s %9s %15s %8s%n", "deployment",
                "ok/sent", "TTFT p50", "TTFT p99", "ITL p50", "ITL p99", "E2E p50", "E2E p99", "req/s", "out tok/s",
                "goodput", "=ref"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-16s %7s %9s %9s %8s %8s %9s %9s %7s %9s %15s %8s%n", r.label(),
                    r.completed() + "/" + r.sent(), ms(r.median(p -> p.ttftMs().p50())),
                    ms(r.median(p -> p.ttftMs().p99())), ms(r.median(p -> p.itlMs().p50())),
                    ms(r.median(p -> p.itlMs().p99())), ms(r.median(p -> p.e2eMs().p50())),
                    ms(r.median(p -> p.e2eMs().p99())), num(r.median(BenchReport::requestThroughput), 2),
                    num(r.median(BenchReport::outputThroughput), 1), pct(r.medianGoodput(Goodput::fraction)) + " "
                            + num(r.medianGoodput(Goodput::ratePerS), 2) + "/s", r.sameAs()));
        }
        b.append(String.format(Locale.ROOT, "latencies in ms; goodput: requests with TTFT <= %s ms and their own ITL "
                + "p99 <= %s ms (share of requests sent, and per second);%n=ref: outputs equal to row a's for the same "
                + "prompts (greedy)%n", num(sloTtftMs, 0), num(sloItlMs, 0)));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "  %-14s %s%n", r.label() + ":", r.layout()));
            for (BenchReport rep : r.reports()) {
                if (rep.firstError() != null) {
                    b.append("  ".repeat(8)).append("first error: ").append(rep.firstError()).append('\n');
                    break;
                }
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
