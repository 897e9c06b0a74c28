package dev.tandem.gateway.policy;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Uniformly random, like SGLang's mini load balancer. */
public final class RandomPolicy implements Policy {
    @Override
    public String name() {
        return "random";
    }

    @Override
    public Candidate pick(List<Candidate> candidates) {
        return candidates.get(ThreadLocalRandom.current().nextInt(candidates.size()));
    }
}
