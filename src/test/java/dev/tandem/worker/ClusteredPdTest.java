package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.TestModels;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A prefill and a decode worker in separate JVMs, started by the launcher ({@code dev.tandem.Main worker
 * --cluster}) and joined over loopback by Hazelcast: the handshake crosses JVMs on the clustered event bus and the
 * KV through /dev/shm or TCP.
 */
@ExtendWith(VertxExtension.class)
class ClusteredPdTest {

    static int freePort() throws IOException {
        return dev.tandem.launch.FreePorts.loopback();
    }

    /** A worker JVM; its output goes to target/cluster-logs. */
    static Process launch(String name, String... flags) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), "dev.tandem.Main", "worker",
                "--model", TestModels.tiny().toString(), "--host", "127.0.0.1", "--cluster"));
        cmd.addAll(List.of(flags));
        Path logs = Path.of("target", "cluster-logs");
        java.nio.file.Files.createDirectories(logs);
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(logs.resolve(name + ".log").toFile()).start();
    }

    static void awaitHealthy(WebClient c, Process p, String name) throws Exception {
        awaitHealthy(c, p, name, Path.of("target", "cluster-logs", name + ".log"));
    }

    /**
     * Waits up to two minutes for {@code /health} to answer 200. Each probe has its own deadline (a port that accepts
     * and never answers must not hang the test), an interrupt (the test's timeout) is never mistaken for "not up
     * yet", and a failure carries the end of the child's log, since CI shows assertion messages but not files.
     */
    static void awaitHealthy(WebClient c, Process p, String name, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String last = "no answer yet";
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new AssertionError(name + " exited with " + p.exitValue() + "\n" + tail(log));
            }
            try {
                int status = c.get("/health").timeout(3_000).send().await().statusCode();
                if (status == 200) {
                    return;
                }
                last = "status " + status;
            } catch (Exception notYet) { // await() rethrows the cause as is, checked ones included
                if (notYet instanceof InterruptedException interrupted) {
                    throw interrupted;
                }
                last = String.valueOf(notYet); // refused while starting, or the probe's own timeout
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name + " not healthy after 120 s (last probe: " + last + ")\n" + tail(log));
    }

    /** The last lines of a child's log, for failure messages. */
    static String tail(Path log) {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log at " + log + ": " + e.getMessage() + ")";
        }
    }

    /** An HTTP client for a child worker's port on this host. */
    static WebClient client(Vertx vertx, int port) {
        return WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
    }

    /**
     * Stops child workers (null ones skipped): SIGTERM first, so the shutdown hook closes the worker and deletes its
     * /dev/shm files; SIGKILL after 15 s.
     */
    static void stop(Process... processes) throws InterruptedException {
        for (Process proc : processes) {
            if (proc == null) {
                continue;
            }
            proc.destroy();
            if (!proc.waitFor(15, TimeUnit.SECONDS)) {
                proc.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    static String body(int len, int maxNew, int bootstrapPort, long room) {
        StringBuilder ids = new StringBuilder("508");
        for (int j = 1; j < len; j++) {
            ids.append(',').append((j * 13 + (int) room * 7) % 500);
        }
        return "{\"input_ids\": [" + ids + "], \"return_logprob\": true, \"sampling_params\": {\"max_new_tokens\": "
                + maxNew + ", \"temperature\": 0, \"ignore_eos\": true}, \"bootstrap_host\": \"127.0.0.1\", "
                + "\"bootstrap_port\": " + bootstrapPort + ", \"bootstrap_room\": " + room + "}";
    }

    /**
     * Sends each body (bootstrap fields included) to the decode worker and then the prefill worker, all at once, and
     * checks that every decode answer is a 200 with the token ids a colocated worker gives for the same prompt.
     */
    static void assertColocatedOutput(WorkerFixture colocated, WebClient prefill, WebClient decode,
                                      List<String> bodies) throws Exception {
        assertColocatedOutput(colocated, prefill, decode, bodies, r -> r);
    }

    /** As above, each request first passed through {@code auth} (an API key, say). */
    static void assertColocatedOutput(WorkerFixture colocated, WebClient prefill, WebClient decode,
                                      List<String> bodies, UnaryOperator<HttpRequest<Buffer>> auth)
            throws Exception {
        List<Future<HttpResponse<Buffer>>> dr = new ArrayList<>();
        for (String b : bodies) {
            dr.add(auth.apply(decode.post("/generate")).sendBuffer(Buffer.buffer(b)));
            auth.apply(prefill.post("/generate")).sendBuffer(Buffer.buffer(b));
        }
        for (int i = 0; i < bodies.size(); i++) {
            var r = dr.get(i).await();
            assertEquals(200, r.statusCode(), r.bodyAsString());
            String plain = bodies.get(i).replaceAll(", \"bootstrap_host.*\\}$", "}");
            assertEquals(ids(colocated.generate(plain).get("output_ids")),
                    ids(WorkerFixture.JSON.readTree(r.bodyAsString()).get("output_ids")), "prompt " + i);
        }
    }

    /** KV pages used once nothing waits (bounded: a minute covers a lease and the transfer deadline). */
    static int usedPagesOnceFenced(WebClient w) throws Exception {
        JsonNode st = null;
        for (int i = 0; i < 600; i++) {
            st = w.get("/get_server_info").send().await().bodyAsJson(JsonNode.class).get("internal_states").get(0);
            if (st.get("num_waiting_reqs").asInt() == 0 && st.get("num_running_reqs").asInt() == 0) {
                return st.get("kv_pages_used").asInt();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("requests still held: " + st);
    }

    @Test
    void separateJvmsGiveColocatedOutputSurviveTheDeathOfTheirPrefillAndItsRestart(Vertx vertx) throws Exception {
        int pPort = freePort();
        int dPort = freePort();
        int bootstrap = freePort();
        Process prefill = launch("prefill", "--mode", "prefill", "--port", "" + pPort, "--bootstrap-port",
                "" + bootstrap);
        Process decode = launch("decode", "--mode", "decode", "--port", "" + dPort, "--heartbeat-interval", "1",
                "--heartbeat-max-failures", "2", "--transfer-io-timeout", "5");
        Process[] restarted = new Process[1];
        WebClient p = client(vertx, pPort);
        WebClient d = client(vertx, dPort);
        try (WorkerFixture colocated = new WorkerFixture(vertx)) {
            awaitHealthy(p, prefill, "prefill");
            awaitHealthy(d, decode, "decode");
            // 1. Same tokens as one colocated worker, for prompts shorter than a page up to several pages.
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                bodies.add(body(1 + i * 7, 6, bootstrap, 100 + i));
            }
            assertColocatedOutput(colocated, p, d, bodies);
            // 2. The prefill JVM dies while rooms are in flight: the decode requests fail clearly and in time.
            List<Future<HttpResponse<Buffer>>> doomed = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                doomed.add(d.post("/generate").sendBuffer(Buffer.buffer(body(300, 8, bootstrap, 900 + i))));
            }
            Thread.sleep(300);
            prefill.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            long t0 = System.nanoTime();
            for (var f : doomed) {
                var r = f.await();
                assertEquals(500, r.statusCode(), r.bodyAsString());
                JsonNode j = WorkerFixture.JSON.readTree(r.bodyAsString());
                assertTrue(j.get("detail").asText().matches(".*(prefill|Losing connection|unreachable|register).*"),
                        r.bodyAsString());
            }
            double waited = (System.nanoTime() - t0) / 1e9;
            assertTrue(waited < 30, "decode requests failed " + waited + " s after the prefill died");
            // The answers came at once; the pages of rooms given up on without the prefill's word come back once
            // every write lease it held has run out (10 s) and a write begun under one has ended (--transfer-io-timeout).
            assertEquals(0, usedPagesOnceFenced(d), "decode leaked pages");
            assertEquals(200, d.get("/health_generate").send().await().statusCode());

            // 3. The prefill restarts on the same ports (a new incarnation): the decode worker notices it at the next
            //    heartbeat or handshake and re-registers; requests succeed again at once, with colocated output.
            restarted[0] = launch("prefill-restarted", "--mode", "prefill", "--port", "" + pPort, "--bootstrap-port",
                    "" + bootstrap);
            awaitHealthy(p, restarted[0], "prefill-restarted");
            Thread.sleep(2 * 1000); // at most two heartbeat intervals
            for (int i = 0; i < 5; i++) {
                String b = body(20 + i * 13, 6, bootstrap, 2000 + i);
                var r = d.post("/generate").sendBuffer(Buffer.buffer(b));
                p.post("/generate").sendBuffer(Buffer.buffer(b));
                var res = r.await();
                assertEquals(200, res.statusCode(), "after the restart: " + res.bodyAsString());
                String plain = b.replaceAll(", \"bootstrap_host.*\\}$", "}");
                assertEquals(ids(colocated.generate(plain).get("output_ids")),
                        ids(WorkerFixture.JSON.readTree(res.bodyAsString()).get("output_ids")), "restarted " + i);
            }
            // The last answer leaves during its request's last round, the stats after it: read the pages once they
            // show nothing running (a snapshot from before that round still shows the request on its pages).
            assertEquals(0, usedPagesOnceFenced(d), "decode leaked pages");
        } finally {
            stop(restarted[0], prefill, decode);
            dev.tandem.kvcache.ShmFile.removeStale(java.time.Duration.ZERO); // the prefill JVM was killed on purpose
            p.close();
            d.close();
        }
    }
}
