package dev.tandem.chaos;

import dev.tandem.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A short run of the chaos soak that {@code ./run.sh chaos} runs for minutes: six JVMs, load through the gateway,
 * workers killed, frozen and restarted. Nothing may be lost, no answer may differ from the reference, no page may
 * stay used, and afterwards every prompt must be answered exactly.
 */
class ChaosSoakTest {
    @Test
    @Timeout(900)
    void loadThroughKillsStopsAndRestartsLosesNothingAndLeaksNothing() throws Exception {
        ChaosOptions o = new ChaosOptions(45, TestModels.tiny(), 3, 11, 3, 6, 6, "tcp",
                Path.of("target", "chaos-test"));
        ChaosReport r = new ChaosRun(o).run();
        System.out.println(r.format());
        assertTrue(Arrays.stream(r.faults()).sum() >= 4, "faults were injected: " + Arrays.toString(r.faults()));
        assertTrue(r.sent() > 0 && r.answered() > 0, r.format());
        assertEquals(0, r.lost(), r.format());
        assertEquals(0, r.mismatched(), r.format());
        assertEquals(0, r.leaked(), r.format());
        assertEquals(r.afterSent(), r.afterAnswered(), r.format());
        assertTrue(r.passed(), r.format());
    }
}
