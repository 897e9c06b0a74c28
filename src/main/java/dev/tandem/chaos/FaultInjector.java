package dev.tandem.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Hits one worker at a time, at seeded random moments: {@code kill -9} and a restart on the same ports after a
 * short outage, {@code SIGSTOP} for up to {@code --max-stop} seconds then {@code SIGCONT}, or {@code SIGTERM} (a
 * graceful shutdown) and a restart. Each fault is finished (the victim continued or restarted) before the next one
 * and before {@link #run} returns.
 */
final class FaultInjector {
    enum Fault { KILL, STOP, TERM }

    private final List<ManagedProcess> victims;
    private final ChaosOptions options;
    private final Random random;
    private final long startNanos = System.nanoTime();
    final int[] counts = new int[Fault.values().length];
    double stoppedSeconds;
    final List<String> timeline = new ArrayList<>();

    FaultInjector(List<ManagedProcess> victims, ChaosOptions options) {
        this.victims = victims;
        this.options = options;
        this.random = new Random(options.seed());
    }

    /** Injects faults until {@code endNanos}. */
    void run(long endNanos) throws Exception {
        while (true) {
            sleep(uniform(options.minGapS(), options.maxGapS()));
            if (System.nanoTime() >= endNanos) {
                return;
            }
            ManagedProcess v = victims.get(random.nextInt(victims.size()));
            double roll = random.nextDouble();
            Fault f = roll < 0.4 ? Fault.KILL : roll < 0.8 ? Fault.STOP : Fault.TERM;
            counts[f.ordinal()]++;
            switch (f) {
                case KILL -> {
                    double down = uniform(1, 4);
                    log("kill -9 " + v.name + ", restart after " + fmt(down) + " s");
                    v.kill();
                    sleep(down);
                    v.start();
                }
                case STOP -> {
                    double frozen = uniform(1, options.maxStopS());
                    stoppedSeconds += frozen;
                    log("SIGSTOP " + v.name + " for " + fmt(frozen) + " s");
                    v.freeze();
                    sleep(frozen);
                    v.thaw();
                }
                case TERM -> {
                    log("SIGTERM " + v.name + " (graceful), restart");
                    v.terminate();
                    v.start();
                }
            }
        }
    }

    private double uniform(double lo, double hi) {
        return lo + random.nextDouble() * (hi - lo);
    }

    private void log(String what) {
        String line = String.format("%7.1f s  %s", (System.nanoTime() - startNanos) / 1e9, what);
        timeline.add(line);
        System.out.println("[chaos] " + line);
    }

    private static String fmt(double s) {
        return String.format("%.1f", s);
    }

    private static void sleep(double seconds) throws InterruptedException {
        Thread.sleep((long) (seconds * 1000));
    }
}
