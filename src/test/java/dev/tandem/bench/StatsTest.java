package dev.tandem.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected values are numpy.percentile(..., method="linear") / numpy.mean of the same arrays. */
class StatsTest {
    private static final double EPS = 1e-12;

    @Test
    void percentilesInterpolateLikeNumpy() {
        double[] a = {4, 1, 3, 2}; // unsorted on purpose
        assertEquals(2.5, Stats.percentile(a, 50), EPS);
        assertEquals(3.7, Stats.percentile(a, 90), EPS);
        assertEquals(3.97, Stats.percentile(a, 99), EPS);
        assertEquals(1.0, Stats.percentile(a, 0), EPS);
        assertEquals(4.0, Stats.percentile(a, 100), EPS);

        double[] b = {15, 20, 35, 40, 50};
        assertEquals(35.0, Stats.percentile(b, 50), EPS);
        assertEquals(46.0, Stats.percentile(b, 90), EPS);
        assertEquals(49.6, Stats.percentile(b, 99), EPS);
        assertEquals(32.0, Stats.mean(b), EPS);
        assertEquals(4, a.length);
        assertEquals(4.0, a[0], 0, "input must not be reordered");
    }

    @Test
    void summaryOfOneTenAndEdgeCases() {
        double[] v = new double[10];
        for (int i = 0; i < 10; i++) {
            v[i] = i + 1; // 1..10
        }
        Stats.Summary s = Stats.summarize(v);
        assertEquals(10, s.count());
        assertEquals(5.5, s.mean(), EPS);
        assertEquals(5.5, s.p50(), EPS);
        assertEquals(9.1, s.p90(), EPS);
        assertEquals(9.91, s.p99(), EPS);

        assertSummary(Stats.summarize(new double[] {7}), 1, 7, 7, 7, 7);
        Stats.Summary none = Stats.summarize(new double[0]);
        assertEquals(0, none.count());
        assertTrue(Double.isNaN(none.mean()) && Double.isNaN(none.p99()));
        assertThrows(IllegalArgumentException.class, () -> Stats.percentile(v, 101));
    }

    @Test
    void reportAggregatesSuccessfulRequestsOnly() {
        List<RequestResult> rs = List.of(
                new RequestResult(true, null, 10, 100, new double[] {2, 4}, 3),
                RequestResult.failed("HTTP 400: bad"),
                new RequestResult(true, null, 30, 200, new double[] {6}, 2),
                RequestResult.failed("second error"));
        BenchReport r = BenchReport.of(rs, 16, 2.0);
        assertEquals(2, r.completed());
        assertEquals(2, r.failed());
        assertEquals(32, r.totalInputTokens());
        assertEquals(5, r.totalOutputTokens());
        assertEquals(1.0, r.requestThroughput(), EPS);
        assertEquals(16.0, r.inputThroughput(), EPS);
        assertEquals(2.5, r.outputThroughput(), EPS);
        assertSummary(r.ttftMs(), 2, 20, 20, 28, 29.8);
        assertEquals(4.0, r.itlMs().mean(), EPS);
        assertEquals(3, r.itlMs().count());
        assertEquals(150.0, r.e2eMs().p50(), EPS);
        assertEquals("HTTP 400: bad", r.firstError());
    }

    @Test
    void jsonReportHasTheDocumentedKeysAndNoNaN() {
        BenchConfig c = new BenchConfig("http://127.0.0.1:1/", 2, Double.POSITIVE_INFINITY, 4, 2, 0, 5);
        BenchReport r = BenchReport.of(List.of(RequestResult.failed("boom"), RequestResult.failed("x")), 4, 1.0);
        var o = ReportFormatter.json(r, c);
        assertEquals("http://127.0.0.1:1", o.get("url").asText());
        assertEquals("inf", o.get("request_rate").asText());
        assertEquals(0, o.get("completed").asInt());
        assertEquals(2, o.get("failed").asInt());
        assertEquals(0.0, o.get("request_throughput").asDouble());
        for (String k : List.of("ttft_ms", "itl_ms", "e2e_ms")) {
            for (String p : List.of("mean", "p50", "p90", "p99")) {
                assertTrue(o.get(k).get(p).isNull(), k + "." + p);
            }
        }
        assertEquals("boom", o.get("first_error").asText());
        String text = ReportFormatter.text(r, c);
        assertTrue(text.contains("Failed requests:") && text.contains("n/a") && text.contains("First error: boom"),
                text);
        assertNull(BenchReport.of(List.of(), 4, 1.0).firstError());
    }

    private static void assertSummary(Stats.Summary s, int count, double mean, double p50, double p90, double p99) {
        assertEquals(count, s.count());
        assertEquals(mean, s.mean(), EPS);
        assertEquals(p50, s.p50(), EPS);
        assertEquals(p90, s.p90(), EPS);
        assertEquals(p99, s.p99(), EPS);
    }
}
