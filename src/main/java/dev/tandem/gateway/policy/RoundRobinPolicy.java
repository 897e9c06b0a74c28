package dev.tandem.gateway.policy;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Each worker in turn (over the current healthy list, sorted by URL so the order is stable). */
public final class RoundRobinPolicy implements Policy {
    private final AtomicLong next = new AtomicLong();

    @Override
    public String name() {
        return "round_robin";
    }

    @Override
    public Candidate pick(List<Candidate> candidates) {
        List<Candidate> sorted = candidates.stream().sorted(java.util.Comparator.comparing(Candidate::url)).toList();
        return sorted.get((int) Math.floorMod(next.getAndIncrement(), (long) sorted.size()));
    }
}
