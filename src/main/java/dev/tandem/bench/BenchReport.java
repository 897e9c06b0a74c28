package dev.tandem.bench;

import java.util.List;

/**
 * The numbers a run reports. Throughputs count successful requests only and divide by the whole benchmark duration
 * (first send to last completion), as SGLang's {@code bench_serving} does, so failures lower them.
 *
 * @param firstError the error of the earliest-sent failed request, null when none failed
 */
public record BenchReport(int completed, int failed, double durationS, long totalInputTokens, long totalOutputTokens,
                          double requestThroughput, double inputThroughput, double outputThroughput,
                          Stats.Summary ttftMs, Stats.Summary itlMs, Stats.Summary e2eMs, String firstError) {

    /** Aggregates per-request results (in send order); every request sent {@code inputLen} prompt ids. */
    public static BenchReport of(List<RequestResult> results, int inputLen, double durationS) {
        int completed = 0;
        long outputTokens = 0;
        int itlTotal = 0;
        String firstError = null;
        for (RequestResult r : results) {
            if (r.success()) {
                completed++;
                outputTokens += r.outputTokens();
                itlTotal += r.itlMs().length;
            } else if (firstError == null) {
                firstError = r.error();
            }
        }
        double[] ttft = new double[completed];
        double[] e2e = new double[completed];
        double[] itl = new double[itlTotal];
        int i = 0;
        int k = 0;
        for (RequestResult r : results) {
            if (r.success()) {
                ttft[i] = r.ttftMs();
                e2e[i++] = r.e2eMs();
                System.arraycopy(r.itlMs(), 0, itl, k, r.itlMs().length);
                k += r.itlMs().length;
            }
        }
        long inputTokens = (long) completed * inputLen;
        double d = durationS > 0 ? durationS : Double.NaN;
        return new BenchReport(completed, results.size() - completed, durationS, inputTokens, outputTokens,
                completed / d, inputTokens / d, outputTokens / d, Stats.summarize(ttft), Stats.summarize(itl),
                Stats.summarize(e2e), firstError);
    }
}
