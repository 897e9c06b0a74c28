package dev.tandem.chaos;

import java.util.List;
import java.util.Map;

/**
 * The soak's verdict. It passes when nothing was lost, no answer differed from the reference, no worker holds a KV
 * page once idle, and after the chaos every prompt is answered with its reference tokens.
 *
 * @param faults        kill -9, SIGSTOP, SIGTERM counts
 * @param leakedPages   per worker: KV pages still used once it is idle (name → pages; -1 if it never went idle)
 * @param afterAnswered prompts answered with their reference tokens after the chaos (of {@code afterSent})
 */
public record ChaosReport(double seconds, int clients, long seed, String transport, int[] faults,
                          double stoppedSeconds, long sent, long answered, long mismatched, long clearErrors,
                          long lost, Map<String, Long> errorKinds, List<String> lostExamples,
                          List<String> mismatchExamples, Map<String, Integer> leakedPages, int afterSent,
                          int afterAnswered, List<String> timeline) {

    public long leaked() {
        return leakedPages.values().stream().mapToLong(p -> p < 0 ? Integer.MAX_VALUE : p).sum();
    }

    public boolean passed() {
        return lost == 0 && mismatched == 0 && leaked() == 0 && afterAnswered == afterSent && answered > 0;
    }

    public String format() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("chaos soak: %.1f min, %d clients, seed %d, KV over %s%n", seconds / 60, clients, seed,
                transport));
        b.append(String.format("faults                     kill -9 %d, SIGSTOP %d (%.0f s frozen in all), SIGTERM %d%n",
                faults[0], faults[1], stoppedSeconds, faults[2]));
        b.append(String.format("requests sent              %d%n", sent));
        b.append(String.format("answered with tokens       %d (all equal to the reference: %s)%n", answered + mismatched,
                mismatched == 0 ? "yes" : "NO, " + mismatched + " differ"));
        b.append(String.format("answered with clear error  %d%n", clearErrors));
        errorKinds.forEach((k, n) -> b.append(String.format("    %6d  %s%n", n, k)));
        b.append(String.format("lost                       %d%n", lost));
        lostExamples.forEach(e -> b.append("    ").append(e).append('\n'));
        mismatchExamples.forEach(e -> b.append("    differs: ").append(e).append('\n'));
        b.append(String.format("pages leaked               %d %s%n", leaked(), leakedPages));
        b.append(String.format("after the chaos            %d/%d prompts answered with the reference tokens%n",
                afterAnswered, afterSent));
        b.append("verdict                    ").append(passed() ? "PASS" : "FAIL").append('\n');
        return b.toString();
    }
}
