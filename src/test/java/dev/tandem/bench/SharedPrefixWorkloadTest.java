package dev.tandem.bench;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared-prefix workload's structure, and how a report turns {@code cached_tokens} into a hit rate. */
class SharedPrefixWorkloadTest {

    @Test
    void groupsShareTheirSystemPromptAndFollowUpsExtendTheirPreviousTurn() {
        Workload w = Workload.sharedPrefix(3, 4, 50, 10, 7, 2, Double.POSITIVE_INFINITY, 9);
        assertEquals(24, w.size());
        int[] lens = w.inputLens();
        for (int i = 0; i < 12; i++) {
            assertEquals(60, lens[i], "turn 0: system + question");
        }
        for (int i = 12; i < 24; i++) {
            assertEquals(77, lens[i], "turn 1: turn 0 + answer + question");
        }
        // Every turn-1 prompt starts with exactly one turn-0 prompt; turn-0 prompts share a system prompt in threes
        // of four.
        for (int i = 12; i < 24; i++) {
            int[] p = w.inputIds()[i];
            long parents = Arrays.stream(w.inputIds(), 0, 12)
                    .filter(q -> Arrays.equals(q, 0, 60, p, 0, 60)).count();
            assertEquals(1, parents);
        }
        long distinctSystems = Arrays.stream(w.inputIds(), 0, 12).map(q -> Arrays.toString(Arrays.copyOf(q, 50)))
                .distinct().count();
        assertEquals(3, distinctSystems);
        assertArrayEquals(w.inputIds()[5], Workload.sharedPrefix(3, 4, 50, 10, 7, 2, Double.POSITIVE_INFINITY, 9)
                .inputIds()[5], "same seed, same prompts");
        assertTrue(Arrays.stream(w.arrivalNanos()).allMatch(t -> t == 0));
    }

    @Test
    void hitRateIsCachedOverPromptTokensOfSuccessfulRequests() {
        List<RequestResult> rs = List.of(
                new RequestResult(true, null, 1, 2, new double[0], 3, 100, 64),
                new RequestResult(true, null, 1, 2, new double[0], 3, 60, 0),
                RequestResult.failed("x"),
                new RequestResult(true, null, 1, 2, new double[0], 3)); // reported neither: left out
        BenchReport r = BenchReport.of(rs, new int[] {100, 60, 80, 40}, 1.0);
        assertEquals(64, r.totalCachedTokens());
        assertEquals(64 / 160.0, r.cacheHitRate(), 1e-12);
        assertEquals(200, r.totalInputTokens());
        assertTrue(Double.isNaN(BenchReport.of(List.of(RequestResult.failed("x")), 4, 1.0).cacheHitRate()));
    }
}
