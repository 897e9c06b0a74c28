package dev.tandem.gateway.policy;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Two distinct random workers, keep the one with the lower load (sgl-router's power_of_two). */
public final class PowerOfTwoPolicy implements Policy {
    @Override
    public String name() {
        return "power_of_two";
    }

    @Override
    public Candidate pick(List<Candidate> candidates) {
        int n = candidates.size();
        if (n == 1) {
            return candidates.get(0);
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int a = r.nextInt(n);
        int b = r.nextInt(n - 1);
        if (b >= a) {
            b++;
        }
        Candidate x = candidates.get(a);
        Candidate y = candidates.get(b);
        return y.load() < x.load() ? y : x;
    }
}
