package dev.tandem.bench;

import java.util.Arrays;

/** Mean and percentiles of latency samples; percentiles interpolate linearly like numpy's default, as SGLang's do. */
public final class Stats {
    private Stats() {
    }

    /** mean/p50/p90/p99 of some samples; every field is NaN when there were none. */
    public record Summary(int count, double mean, double p50, double p90, double p99) {
        public static final Summary EMPTY = new Summary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }

    public static Summary summarize(double[] values) {
        if (values.length == 0) {
            return Summary.EMPTY;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return new Summary(sorted.length, mean(sorted), percentileSorted(sorted, 50), percentileSorted(sorted, 90),
                percentileSorted(sorted, 99));
    }

    /** Arithmetic mean; NaN for no values. */
    public static double mean(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    /** The {@code p}-th percentile (0..100) of unsorted values; NaN for no values. */
    public static double percentile(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return percentileSorted(sorted, p);
    }

    /**
     * numpy's "linear" method: the value at fractional rank {@code (n - 1) * p / 100}, interpolated between the two
     * neighbouring order statistics.
     */
    static double percentileSorted(double[] sorted, double p) {
        if (p < 0 || p > 100 || Double.isNaN(p)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        }
        int n = sorted.length;
        if (n == 0) {
            return Double.NaN;
        }
        double rank = (n - 1) * p / 100.0;
        int lo = (int) Math.floor(rank);
        int hi = Math.min(lo + 1, n - 1);
        double frac = rank - lo;
        return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
    }
}
