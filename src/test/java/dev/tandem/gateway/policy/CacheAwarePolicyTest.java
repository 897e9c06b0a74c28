package dev.tandem.gateway.policy;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.tandem.gateway.policy.KvTestData.batch;
import static dev.tandem.gateway.policy.KvTestData.concat;
import static dev.tandem.gateway.policy.KvTestData.seq;
import static dev.tandem.gateway.policy.KvTestData.stored;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CacheAwarePolicyTest {
    private static final String A = "http://a";
    private static final String B = "http://b";
    private static final String C = "http://c";
    private static final int BS = 4;
    /** A holds 8 of its 10 tokens (ratio 0.8). */
    private static final int[] PROMPT = seq(100, 10);

    private PrefixIndex index;
    private CacheAwarePolicy policy;

    @BeforeEach
    void setUp() {
        index = new PrefixIndex();
        index.apply(A, batch(stored(PROMPT, BS, 0, 2)));
        index.apply(C, batch(stored(seq(5000, 20), BS, 0, 5))); // C: the largest index, nothing in common
        policy = new CacheAwarePolicy(index, CacheAwarePolicy.Thresholds.DEFAULTS);
    }

    private static List<Candidate> loads(long a, long b, long c) {
        return List.of(new Candidate(C, c), new Candidate(A, a), new Candidate(B, b));
    }

    private String pick(List<Candidate> candidates, int[] prompt) {
        return policy.pick(candidates, new RouteRequest(prompt)).url();
    }

    @Test
    void balancedLoadsGoToTheLongestCachedPrefix() {
        assertEquals(A, pick(loads(3, 5, 4), PROMPT));
        assertEquals(A, pick(loads(100, 40, 50), PROMPT), "spread 60 <= balance_abs_threshold 64");
        assertEquals(A, pick(loads(1000, 900, 950), PROMPT), "1000 <= 900 * balance_rel_threshold 1.5");
        assertTrue(policy.usesPromptTokens());
    }

    @Test
    void imbalancedLoadsGoToTheLeastLoadedWhateverItCaches() {
        assertEquals(B, pick(loads(100, 10, 30), PROMPT), "spread 90 > 64 and 100 > 10 * 1.5");
        assertEquals(C, pick(loads(100, 40, 20), PROMPT));
        assertEquals(B, pick(loads(65, 0, 0), PROMPT), "least loaded tie: in turn, B first");
        assertEquals(C, pick(loads(65, 0, 0), PROMPT), "then C");
    }

    @Test
    void belowTheCacheThresholdTheSmallestIndexWins() {
        int[] mostlyNew = concat(seq(100, 4), seq(800, 12)); // A holds 4 of 16 tokens: 0.25 <= 0.3
        assertEquals(B, pick(loads(5, 9, 1), mostlyNew), "B has no index at all; its higher load does not matter");

        List<Candidate> two = List.of(new Candidate(A, 0), new Candidate(B, 0));
        int[] half = concat(seq(100, 4), seq(300, 4));
        assertEquals(B, halfMatched(0.5).pick(two, new RouteRequest(half)).url(),
                "a match of exactly cache_threshold is not above it");
        assertEquals(A, halfMatched(0.49).pick(two, new RouteRequest(half)).url());
    }

    /** A holds the first half of {@code half} and the larger index; B a smaller, unrelated one. */
    private static CacheAwarePolicy halfMatched(double threshold) {
        PrefixIndex i = new PrefixIndex();
        i.apply(A, batch(stored(seq(100, 4), BS, 0, 1)));
        i.apply(A, batch(stored(seq(7000, 12), BS, 0, 3)));
        i.apply(B, batch(stored(seq(900, 8), BS, 0, 2)));
        return new CacheAwarePolicy(i, new CacheAwarePolicy.Thresholds(threshold, 64, 1.5));
    }

    @Test
    void cacheTiesGoToTheLowerLoad() {
        index.apply(B, batch(stored(PROMPT, BS, 0, 2)));
        assertEquals(B, pick(loads(6, 2, 0), PROMPT));
        assertEquals(A, pick(loads(2, 6, 0), PROMPT));
    }

    @Test
    void sizeTiesGoToTheLowerLoadThenTakeTurns() {
        PrefixIndex empty = new PrefixIndex();
        CacheAwarePolicy p = new CacheAwarePolicy(empty, CacheAwarePolicy.Thresholds.DEFAULTS);
        List<String> picks = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            picks.add(p.pick(List.of(new Candidate(C, 1), new Candidate(B, 1), new Candidate(A, 2)),
                    new RouteRequest(PROMPT)).url());
        }
        assertEquals(List.of(B, C, B, C), picks, "no index anywhere: lower load, then round-robin by URL");
        assertEquals(A, p.pick(List.of(new Candidate(A, 7)), RouteRequest.NONE).url());
    }

    @Test
    void withoutPromptTokensTheSmallestIndexWins() {
        assertEquals(B, policy.pick(loads(0, 0, 0)).url());
        assertEquals(B, policy.pick(loads(0, 0, 0), RouteRequest.NONE).url());
    }

    @Test
    void aRoutedPromptSticksToItsWorkerBeforeItsEventsArrive() {
        PrefixIndex i = new PrefixIndex();
        CacheAwarePolicy p = new CacheAwarePolicy(i, CacheAwarePolicy.Thresholds.DEFAULTS);
        i.apply(A, batch(stored(seq(1, 4), BS, 0, 1)));
        i.apply(B, batch(stored(seq(2, 4), BS, 0, 1)));
        List<Candidate> two = List.of(new Candidate(A, 0), new Candidate(B, 0));
        int[] fresh = seq(400, 32);
        assertEquals(A, p.pick(two, new RouteRequest(fresh)).url(), "equal sizes and loads: A's turn");
        assertEquals(8, i.pendingSize(A));
        for (int k = 0; k < 3; k++) {
            assertEquals(A, p.pick(two, new RouteRequest(fresh)).url(), "A now holds it (pending)");
        }
        assertEquals(B, p.pick(two, new RouteRequest(seq(600, 32))).url(), "a new prompt: B is now smaller");
    }
}
