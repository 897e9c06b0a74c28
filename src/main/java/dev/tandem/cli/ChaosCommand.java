package dev.tandem.cli;

import dev.tandem.chaos.ChaosOptions;
import dev.tandem.chaos.ChaosReport;
import dev.tandem.chaos.ChaosRun;
import dev.tandem.config.Args;

import java.nio.file.Files;
import java.util.Set;

/**
 * {@code chaos [--minutes 10] [--clients 4] [--seed 1] [--transport tcp|shm|auto] [--min-gap 2] [--max-gap 6]
 * [--max-stop 10] [--model DIR] [--logs DIR]}: the chaos soak; exits 0 only when its verdict is PASS. The report is
 * also written to {@code <logs>/report.txt}.
 */
public final class ChaosCommand {
    private ChaosCommand() {
    }

    public static int run(String[] argv) throws Exception {
        ChaosOptions o = ChaosOptions.from(Args.parse(argv, Set.of()));
        if (!Files.isRegularFile(o.model().resolve("config.json"))) {
            System.out.println("[chaos] making the tiny model in " + o.model());
            MakeTinyModelCommand.run(new String[] {"--out", o.model().toString(), "--preset", "tiny"});
        }
        ChaosReport report = new ChaosRun(o).run();
        String text = report.format() + "\ntimeline:\n" + String.join("\n", report.timeline()) + "\n";
        Files.createDirectories(o.logs());
        Files.writeString(o.logs().resolve("report.txt"), text);
        System.out.print("\n" + report.format());
        System.out.println("(report and timeline in " + o.logs().resolve("report.txt") + ", process logs beside it)");
        return report.passed() ? 0 : 1;
    }
}
