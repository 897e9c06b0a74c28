package dev.tandem.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.cli.BenchServingCommand;
import dev.tandem.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class BenchRunnerTest {
    private static final int N = 8;
    private static final int I = 12;
    private static final int O = 5;

    @Test
    void allRequestsSucceedAgainstAStreamingServer() throws Exception {
        try (FakeSglangServer server = new FakeSglangServer(0, false)) {
            BenchConfig c = new BenchConfig(server.url(), N, Double.POSITIVE_INFINITY, I, O, 7, 10);
            BenchReport r = new BenchRunner(c, msg -> { }).run();
            assertEquals(N, r.completed(), r.firstError());
            assertEquals(0, r.failed());
            assertEquals((long) N * O, r.totalOutputTokens());
            assertEquals((long) N * I, r.totalInputTokens());
            assertEquals(N * (O - 1), r.itlMs().count(), "one ITL sample per token after the first");
            assertEquals(N, r.ttftMs().count());
            assertTrue(r.ttftMs().mean() > 0 && r.e2eMs().mean() >= r.ttftMs().mean());
            assertTrue(r.itlMs().p50() > 0);
            assertTrue(r.durationS() > 0 && r.outputThroughput() > 0);
            checkRequests(server, c);
        }
    }

    @Test
    void rejectedRequestsCountAsFailedAtAPoissonRate() throws Exception {
        try (FakeSglangServer server = new FakeSglangServer(2, false)) {
            BenchConfig c = new BenchConfig(server.url() + "/", N, 200, I, O, 3, 10);
            BenchReport r = new BenchRunner(c, msg -> { }).run();
            assertEquals(N / 2, r.completed());
            assertEquals(N / 2, r.failed());
            assertEquals((long) (N / 2) * O, r.totalOutputTokens());
            assertTrue(r.firstError().startsWith("HTTP 400"), r.firstError());
            assertTrue(r.firstError().contains("rejected by the fake server"), r.firstError());
            checkRequests(server, c);
        }
    }

    @Test
    void timeoutCancelsOutstandingRequests() throws Exception {
        try (FakeSglangServer server = new FakeSglangServer(0, true)) {
            BenchConfig c = new BenchConfig(server.url(), 3, Double.POSITIVE_INFINITY, I, O, 0, 0.5);
            long t0 = System.nanoTime();
            BenchReport r = new BenchRunner(c, msg -> { }).run();
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
            assertEquals(0, r.completed());
            assertEquals(3, r.failed());
            assertTrue(r.firstError().contains("timed out"), r.firstError());
        }
    }

    @Test
    void commandPrintsJsonAndExitsZero() throws Exception {
        try (FakeSglangServer server = new FakeSglangServer(0, false)) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            PrintStream old = System.out;
            int code;
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            try {
                code = BenchServingCommand.run(new String[] {"--url", server.url(), "--num-prompts", "3",
                        "--input-len", "4", "--output-len", "2", "--json"});
            } finally {
                System.setOut(old);
            }
            assertEquals(0, code);
            JsonNode o = new ObjectMapper().readTree(buf.toString(StandardCharsets.UTF_8));
            assertEquals(3, o.get("completed").asInt());
            assertEquals(0, o.get("failed").asInt());
            assertEquals(6, o.get("total_output_tokens").asInt());
            for (String k : new String[] {"duration_s", "request_throughput", "input_throughput", "output_throughput"}) {
                assertTrue(o.get(k).asDouble() > 0, k);
            }
            assertTrue(o.get("itl_ms").get("p99").isNumber());
        }
    }

    @Test
    void commandExitsOneWhenNothingSucceeds() throws Exception {
        try (FakeSglangServer server = new FakeSglangServer(1, false)) {
            PrintStream old = System.out;
            int code;
            System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            try {
                code = BenchServingCommand.run(new String[] {"--url", server.url(), "--num-prompts", "2",
                        "--input-len", "4", "--output-len", "2"});
            } finally {
                System.setOut(old);
            }
            assertEquals(1, code);
        }
    }

    @Test
    void flagsAreValidatedWithTheirNames() {
        assertMessage("--url", "--num-prompts", "3");
        assertMessage("--num-prompts", "--url", "http://127.0.0.1:1", "--num-prompts", "0");
        assertMessage("--request-rate", "--url", "http://127.0.0.1:1", "--request-rate", "-2");
        assertMessage("--request-rate", "--url", "http://127.0.0.1:1", "--request-rate", "fast");
        assertMessage("--input-len", "--url", "http://127.0.0.1:1", "--input-len", "0");
        assertMessage("--output-len", "--url", "http://127.0.0.1:1", "--output-len", "-1");
        assertMessage("--timeout", "--url", "http://127.0.0.1:1", "--timeout", "0");
        assertMessage("--url", "--url", "localhost:30000");
        assertMessage("--bogus", "--url", "http://127.0.0.1:1", "--bogus", "1");
        assertEquals(Double.POSITIVE_INFINITY, BenchConfig.parseRate("INF"));
        assertEquals(2.5, BenchConfig.parseRate("2.5"));
    }

    @Test
    void workloadIsSeededAndPoisson() {
        Workload a = Workload.generate(200, 6, 10, 42);
        Workload b = Workload.generate(200, 6, 10, 42);
        assertArrayEquals(a.arrivalNanos(), b.arrivalNanos());
        assertTrue(Arrays.deepEquals(a.inputIds(), b.inputIds()));
        assertNotEquals(Arrays.deepToString(a.inputIds()),
                Arrays.deepToString(Workload.generate(200, 6, 10, 43).inputIds()));
        assertEquals(0, a.arrivalNanos()[0]);
        for (int i = 1; i < 200; i++) {
            assertTrue(a.arrivalNanos()[i] >= a.arrivalNanos()[i - 1]);
        }
        double meanGapS = a.arrivalNanos()[199] / 1e9 / 199;
        assertTrue(meanGapS > 0.07 && meanGapS < 0.13, "mean gap " + meanGapS + " s, expected about 0.1");
        assertTrue(Arrays.stream(a.inputIds()).flatMapToInt(Arrays::stream).allMatch(id -> id >= 1 && id < 256));
        assertTrue(Arrays.stream(Workload.generate(5, 3, Double.POSITIVE_INFINITY, 1).arrivalNanos())
                .allMatch(t -> t == 0));
    }

    private static void assertMessage(String flag, String... argv) {
        ConfigException e = assertThrows(ConfigException.class, () -> BenchServingCommand.run(argv));
        assertTrue(e.getMessage().contains(flag), e.getMessage());
    }

    /** The server saw exactly N well-formed requests with the seeded prompts. */
    private static void checkRequests(FakeSglangServer server, BenchConfig c) {
        assertEquals(N, server.received.size());
        Workload w = Workload.generate(c);
        java.util.Set<String> expected = new java.util.HashSet<>();
        for (int[] ids : w.inputIds()) {
            expected.add(Arrays.toString(ids));
        }
        java.util.Set<String> got = new java.util.HashSet<>();
        for (JsonNode req : server.received) {
            assertEquals(I, req.get("input_ids").size());
            assertEquals(O, req.get("sampling_params").get("max_new_tokens").asInt());
            assertEquals(0, req.get("sampling_params").get("temperature").asInt());
            assertTrue(req.get("sampling_params").get("ignore_eos").asBoolean());
            assertTrue(req.get("stream").asBoolean());
            int[] ids = new int[I];
            for (int k = 0; k < I; k++) {
                ids[k] = req.get("input_ids").get(k).asInt();
            }
            got.add(Arrays.toString(ids));
        }
        assertEquals(expected, got);
    }
}
