package dev.tandem.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GoodputTest {
    private static RequestResult ok(double ttft, double... itl) {
        return new RequestResult(true, null, ttft, ttft + 10, itl, itl.length + 1);
    }

    @Test
    void countsRequestsWithinBothObjectivesOverAllSent() {
        List<RequestResult> rs = List.of(
                ok(100, 20, 30),                                  // within both
                ok(100),                                          // one token: no ITL sample, within
                ok(250, 20),                                      // TTFT over 200
                ok(100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 90),  // its own ITL p99 = 82.8 > 50
                ok(200, 50),                                      // both exactly at the limit: within
                RequestResult.failed("HTTP 503"));                // failed: never within
        Goodput g = Goodput.of(rs, 2.0, 200, 50);
        assertEquals(3, g.met());
        assertEquals(6, g.sent());
        assertEquals(0.5, g.fraction(), 1e-12);
        assertEquals(1.5, g.ratePerS(), 1e-12);
        assertEquals(82.8, rs.get(3).itlP99Ms(), 1e-9); // numpy's linear method: rank 8.91, 10 + 0.91 * 80
        assertTrue(Double.isNaN(Goodput.of(rs, 0, 200, 50).ratePerS()));
    }

    @Test
    void tableHasOneLinePerRowAndTheLegend() {
        List<RequestResult> rs = List.of(ok(100, 20), ok(300, 40));
        BenchReport rep = BenchReport.of(rs, 8, 1.0);
        String t = PdTable.format(List.of(new PdTable.Row("a colocated", "1 worker", rep, Goodput.of(rs, 1.0, 200, 50),
                "ref"), new PdTable.Row("b prefill+decode", "pair", BenchReport.of(List.of(RequestResult.failed("x"),
                RequestResult.failed("x")), 8, 1.0), Goodput.of(List.of(RequestResult.failed("x"),
                RequestResult.failed("x")), 1.0, 200, 50), "0/2")), 200, 50);
        List<String> lines = t.lines().toList();
        assertTrue(lines.get(0).startsWith("deployment"), t);
        assertTrue(lines.get(1).matches("a colocated\\s+2/2\\s+200\\s+298\\s+30\\.0\\s+39\\.8\\s+.* 50% 1\\.00/s\\s+ref"),
                lines.get(1));
        assertTrue(lines.get(2).matches("b prefill\\+decode\\s+0/2\\s+n/a\\s+n/a.* 0% 0\\.00/s\\s+0/2"), lines.get(2));
        assertTrue(t.contains("TTFT <= 200 ms") && t.contains("ITL p99 <= 50 ms") && t.contains("first error: x"), t);
    }

    @Test
    void severalRunsShowTheMedianOfEachFigure() {
        List<List<RequestResult>> runs = List.of(List.of(ok(100, 20)), List.of(ok(300, 60)), List.of(ok(200, 30)));
        List<BenchReport> reps = runs.stream().map(rs -> BenchReport.of(rs, 8, 2.0)).toList();
        List<Goodput> gs = runs.stream().map(rs -> Goodput.of(rs, 2.0, 250, 50)).toList();
        String t = PdTable.format(List.of(new PdTable.Row("a colocated", "1 worker", reps, gs, "ref")), 250, 50);
        List<String> lines = t.lines().toList();
        assertTrue(lines.get(0).contains("median over 3 runs"), t);
        // TTFT medians 200; ITL 30; goodput per run 100%, 0% (ITL 60), 100%: median 100%, 0.50/s
        assertTrue(lines.get(2).matches("a colocated\\s+3/3\\s+200\\s+200\\s+30\\.0\\s+30\\.0\\s+.* 100% 0\\.50/s\\s+ref"),
                lines.get(2));
    }
}
