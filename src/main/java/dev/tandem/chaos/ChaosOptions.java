package dev.tandem.chaos;

import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;

import java.nio.file.Path;

/**
 * What the soak runs: how long the chaos lasts, how many clients drive load, how faults are spaced, and which KV
 * transport the pairs use.
 *
 * @param seconds    {@code --minutes} × 60: how long faults are injected while load runs
 * @param model      {@code --model}: the model every worker loads (default {@code models/tiny}, made if missing)
 * @param clients    {@code --clients}: concurrent closed-loop clients (each sends its next request when answered)
 * @param seed       {@code --seed}: picks faults, victims, pauses and prompts (same seed, same plan)
 * @param minGapS    {@code --min-gap}: the shortest pause between two faults, seconds
 * @param maxGapS    {@code --max-gap}: the longest
 * @param maxStopS   {@code --max-stop}: the longest SIGSTOP (a freeze longer than the heartbeat window and the TCP
 *                   deadlines, so both the dead-peer and the stalled-peer paths are taken)
 * @param transport  {@code --transport}: {@code tcp} (as across hosts; default) or {@code shm} or {@code auto}
 * @param logs       {@code --logs}: where each process's output goes
 */
public record ChaosOptions(double seconds, Path model, int clients, long seed, double minGapS, double maxGapS,
                           double maxStopS, String transport, Path logs) {
    public ChaosOptions {
        if (!(seconds > 0) || seconds > 24 * 3600) {
            throw new ConfigException("--minutes", seconds / 60, "more than 0 and at most 1440");
        }
        if (clients < 1 || clients > 64) {
            throw new ConfigException("--clients", clients, "1 to 64");
        }
        if (!(minGapS >= 0.5) || !(maxGapS >= minGapS)) {
            throw new ConfigException("--min-gap/--max-gap", minGapS + "/" + maxGapS, "0.5 <= min-gap <= max-gap");
        }
        if (!(maxStopS >= 1)) {
            throw new ConfigException("--max-stop", maxStopS, ">= 1 second");
        }
        if (!java.util.Set.of("tcp", "shm", "auto").contains(transport)) {
            throw new ConfigException("--transport", transport, "tcp, shm or auto");
        }
    }

    public static ChaosOptions from(Args a) {
        ChaosOptions o = new ChaosOptions(a.number("minutes", 10) * 60, Path.of(a.string("model", "models/tiny")),
                a.integer("clients", 4), a.longValue("seed", 1), a.number("min-gap", 2), a.number("max-gap", 6),
                a.number("max-stop", 10), a.string("transport", "tcp"), Path.of(a.string("logs", "target/chaos")));
        a.rejectUnknown();
        return o;
    }
}
