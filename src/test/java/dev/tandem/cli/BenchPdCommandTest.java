package dev.tandem.cli;

import dev.tandem.TestModels;
import dev.tandem.bench.RequestResult;
import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bench-pd} end to end on the tiny model: three deployments as real child JVMs (a colocated worker, a
 * prefill + decode pair behind a gateway, a colocated worker with 16-token prefill chunks), the same small workload
 * through each. Checks what the rows did, never how fast.
 */
class BenchPdCommandTest {
    private static final int REQUESTS = 4;
    private static final int OUTPUT = 6;

    /** The test's flags, {@code more} (flag, value pairs) replacing any of the same name. */
    private static BenchPdOptions options(Path model, Path out, String... more) {
        List<String> defaults = List.of("--model", model.toString(), "--cores", "2", "--prompt-len", "40",
                "--output-len", String.valueOf(OUTPUT), "--requests", String.valueOf(REQUESTS), "--rate", "inf",
                "--chunked-prefill-size", "16", "--worker-heap", "128m", "--warmup", "1", "--start-timeout", "120",
                "--timeout", "120", "--out", out.toString());
        List<String> argv = new ArrayList<>(List.of(more));
        for (int i = 0; i < defaults.size(); i += 2) {
            if (!argv.contains(defaults.get(i))) {
                argv.addAll(defaults.subList(i, i + 2));
            }
        }
        return BenchPdOptions.from(Args.parse(argv.toArray(String[]::new), Set.of()));
    }

    @Test
    void everyRowRunsTheSameWorkloadToTheSameOutputsAndLeavesNoProcess(@TempDir Path out) throws Exception {
        BenchPdCommand.Result r = BenchPdCommand.execute(options(TestModels.tiny(), out), msg -> { });

        assertEquals(List.of("a colocated", "b prefill+decode", "c small chunks"),
                r.rows().stream().map(x -> x.row().label()).toList());
        List<RequestResult> ref = r.rows().get(0).runs().get(0);
        for (BenchPdCommand.RowResult row : r.rows()) {
            String label = row.row().label();
            assertEquals(1, row.runs().size(), label);
            List<RequestResult> results = row.runs().get(0);
            assertEquals(REQUESTS, results.size(), label);
            assertEquals(REQUESTS, row.row().completed(), label + ": " + row.row().reports().get(0).firstError());
            assertEquals(0, row.row().reports().get(0).failed(), label);
            assertEquals(REQUESTS, row.row().sent(), label);
            for (int i = 0; i < REQUESTS; i++) {
                RequestResult x = results.get(i);
                assertTrue(x.success(), label + " request " + i + ": " + x.error());
                assertEquals(OUTPUT, x.outputIds().length, label + " request " + i + " streamed its ids");
                // Greedy: the same prompt gives the same tokens however it is deployed and chunked.
                assertArrayEquals(ref.get(i).outputIds(), x.outputIds(), label + " request " + i);
            }
        }
        assertEquals("ref", r.rows().get(0).row().sameAs());
        assertEquals(REQUESTS + "/" + REQUESTS, r.rows().get(1).row().sameAs());
        assertEquals(REQUESTS + "/" + REQUESTS, r.rows().get(2).row().sameAs());
        assertTrue(r.clean());

        assertEquals(5, r.pids().size(), "worker; prefill, decode, gateway; worker: " + r.pids());
        for (long pid : r.pids()) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " left alive");
        }
        String report = Files.readString(out.resolve("report.txt"));
        assertTrue(report.startsWith(r.text()), report);
        assertTrue(report.contains("b prefill+decode") && report.contains("Serving Benchmark Result"), report);
    }

    @Test
    void aWorkerThatCannotStartIsNamedWithItsLogAndStopped(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("broken-model");
        Files.createDirectories(model);
        Files.writeString(model.resolve("config.json"), "{\"not\": \"a model\"}");
        BenchPdOptions o = options(model, dir.resolve("out"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BenchPdCommand.execute(o, msg -> { }));
        assertTrue(e.getMessage().startsWith("colocated-worker (pid "), e.getMessage());
        assertTrue(e.getMessage().contains("exited with code") && e.getMessage().contains("colocated-worker.log"),
                e.getMessage());
        assertTrue(e.getMessage().contains("---- start 1: worker --mode null"), "the log tail: " + e.getMessage());
        long pid = Long.parseLong(e.getMessage().replaceAll("(?s)^colocated-worker \\(pid (\\d+)\\).*", "$1"));
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    }

    @Test
    void flagsAreCheckedByName() {
        Path model = TestModels.tiny();
        assertEquals(List.of(0, 1, 2, 3, 8, 10, 11), BenchPdOptions.parseCpuList("0-3,8,10-11"));
        assertThrows(ConfigException.class, () -> options(model, model, "--cores", "1"), "--cores");
        ConfigException bad = assertThrows(ConfigException.class,
                () -> options(model, model, "--prefill-cores", "2"));
        assertTrue(bad.getMessage().contains("--prefill-cores"), bad.getMessage());
        bad = assertThrows(ConfigException.class, () -> options(model, model, "--slo-itl-ms", "0"));
        assertTrue(bad.getMessage().contains("--slo-itl-ms"), bad.getMessage());
        bad = assertThrows(ConfigException.class, () -> options(model, model, "--runs", "0"));
        assertTrue(bad.getMessage().contains("--runs"), bad.getMessage());
        bad = assertThrows(ConfigException.class, () -> options(model, model, "--worker-heap", "lots"));
        assertTrue(bad.getMessage().contains("--worker-heap"), bad.getMessage());
        bad = assertThrows(ConfigException.class, () -> options(model, model, "--model", model.resolve("x").toString()));
        assertTrue(bad.getMessage().contains("--model"), bad.getMessage());
    }
}
