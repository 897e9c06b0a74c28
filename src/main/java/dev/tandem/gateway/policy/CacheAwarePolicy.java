package dev.tandem.gateway.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * sgl-router's cache_aware, over a {@link PrefixIndex} fed by the workers' KV events:
 * <ol>
 *   <li>Loads imbalanced ({@code max - min > balanceAbsThreshold} and {@code max > min * balanceRelThreshold}):
 *       the least loaded worker, whatever it caches.</li>
 *   <li>Otherwise the worker holding the longest cached prefix of the prompt, if that prefix is more than
 *       {@code cacheThreshold} of the prompt (ties: lower load, then URL order).</li>
 *   <li>Otherwise the worker with the smallest index (the most room to cache a new prefix; ties: lower load, then
 *       round-robin).</li>
 * </ol>
 * Whatever it picks, it records the prompt's pages as pending on that worker (sgl-router inserts the request into
 * its tree the same way), so requests sharing a new prefix follow the first one before its events arrive. Workers
 * without an index match nothing and count as empty, so a pool whose workers publish no events is routed by load,
 * then round-robin.
 */
public final class CacheAwarePolicy implements Policy {
    /** sgl-router's knobs and defaults. */
    public record Thresholds(double cacheThreshold, long balanceAbsThreshold, double balanceRelThreshold) {
        public static final Thresholds DEFAULTS = new Thresholds(0.3, 64, 1.5);
    }

    private final PrefixIndex index;
    private final Thresholds thresholds;
    private final AtomicLong next = new AtomicLong();

    public CacheAwarePolicy(PrefixIndex index, Thresholds thresholds) {
        this.index = index;
        this.thresholds = thresholds;
    }

    @Override
    public String name() {
        return "cache_aware";
    }

    @Override
    public boolean usesPromptTokens() {
        return true;
    }

    @Override
    public Candidate pick(List<Candidate> candidates) {
        return pick(candidates, RouteRequest.NONE);
    }

    @Override
    public Candidate pick(List<Candidate> candidates, RouteRequest request) {
        Candidate chosen = choose(candidates, request.promptTokens());
        if (request.promptTokens() != null) {
            index.insertPending(chosen.url(), request.promptTokens());
        }
        return chosen;
    }

    private Candidate choose(List<Candidate> candidates, int[] tokens) {
        if (candidates.size() == 1) {
            return candidates.get(0);
        }
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (Candidate c : candidates) {
            min = Math.min(min, c.load());
            max = Math.max(max, c.load());
        }
        if (max - min > thresholds.balanceAbsThreshold() && max > min * thresholds.balanceRelThreshold()) {
            long least = min;
            return roundRobin(candidates.stream().filter(c -> c.load() == least).toList());
        }
        if (tokens != null && tokens.length > 0) {
            Candidate best = null;
            int bestMatched = -1;
            for (Candidate c : sortedByUrl(candidates)) {
                int m = index.matchedTokens(c.url(), tokens);
                if (m > bestMatched || (m == bestMatched && c.load() < best.load())) {
                    best = c;
                    bestMatched = m;
                }
            }
            if ((double) bestMatched / tokens.length > thresholds.cacheThreshold()) {
                return best;
            }
        }
        // The smallest index, then the lowest load; what is still tied takes turns.
        List<Candidate> smallest = new ArrayList<>();
        long bestSize = Long.MAX_VALUE;
        long bestLoad = Long.MAX_VALUE;
        for (Candidate c : candidates) {
            long size = (long) index.size(c.url()) + index.pendingSize(c.url());
            if (size < bestSize || (size == bestSize && c.load() < bestLoad)) {
                smallest.clear();
                bestSize = size;
                bestLoad = c.load();
            }
            if (size == bestSize && c.load() == bestLoad) {
                smallest.add(c);
            }
        }
        return roundRobin(smallest);
    }

    private Candidate roundRobin(List<Candidate> tied) {
        List<Candidate> sorted = sortedByUrl(tied);
        return sorted.size() == 1 ? sorted.get(0)
                : sorted.get((int) Math.floorMod(next.getAndIncrement(), (long) sorted.size()));
    }

    private static List<Candidate> sortedByUrl(List<Candidate> candidates) {
        return candidates.stream().sorted(Comparator.comparing(Candidate::url)).toList();
    }
}
