package dev.tandem.bench;

import java.util.List;

/**
 * The numbers a run reports. Throughputs count successful requests only and divide by the whole benchmark duration
 * (first send to last completion), as SGLang's {@code bench_serving} does, so failures lower them.
 *
 * @param firstError   the error of the earliest-sent failed request, null when none failed
 * @param cacheHitRate cached prompt tokens / prompt tokens over the successful requests that reported both
 *                     ({@code meta_info.cached_tokens}); NaN when none did
 */
public record BenchReport(int completed, int failed, double durationS, long totalInputTokens, long totalOutputTokens,
                          double requestThroughput, double inputThroughput, double outputThroughput,
                          Stats.Summary ttftMs, Stats.Summary itlMs, Stats.Summary e2eMs, String firstError,
                          long totalCachedTokens, double cacheHitRate) {

    /** Aggregates per-request results (in send order); every request sent {@code inputLen} prompt ids. */
    public static BenchReport of(List<RequestResult> results, int inputLen, double durationS) {
        int[] lens = new int[results.size()];
        java.util.Arrays.fill(lens, inputLen);
        return of(results, lens, durationS);
    }

    /** Aggregates per-request results (in send order); request {@code i} sent {@code inputLens[i]} prompt ids. */
    public static BenchReport of(List<RequestResult> results, int[] inputLens, double durationS) {
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
        long inputTokens = 0;
        long cached = 0;
        long promptReported = 0;
        for (int j = 0; j < results.size(); j++) {
            RequestResult r = results.get(j);
            if (r.success()) {
                inputTokens += inputLens[j];
                if (r.cachedTokens() >= 0 && r.promptTokens() > 0) {
                    cached += r.cachedTokens();
                    promptReported += r.promptTokens();
                }
            }
        }
        double d = durationS > 0 ? durationS : Double.NaN;
        return new BenchReport(completed, results.size() - completed, durationS, inputTokens, outputTokens,
                completed / d, inputTokens / d, outputTokens / d, Stats.summarize(ttft), Stats.summarize(itl),
                Stats.summarize(e2e), firstError, cached, promptReported == 0 ? Double.NaN
                : cached / (double) promptReported);
    }
}
