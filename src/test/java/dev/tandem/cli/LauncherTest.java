package dev.tandem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TestModels;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every role started as the design intends, with the Vert.x launcher in its own JVM:
 * {@code java -Dvertx.hazelcast.config=conf/cluster.xml … VertxApplication <Verticle> -cluster -conf <role>.json},
 * the configs being {@code conf/}'s with only the ports and the model changed (and the gateway's static worker lists
 * left out). The gateway finds the workers on the cluster and answers a request.
 */
class LauncherTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static int freePort() throws IOException {
        return dev.tandem.launch.FreePorts.loopback();
    }

    /** {@code conf/<name>.json} with {@code changes} applied, written under target/launcher-test. */
    private static Path conf(String name, ObjectNode changes) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(Path.of("conf", name + ".json").toFile());
        changes.fields().forEachRemaining(e -> {
            if (e.getValue().isNull()) {
                c.remove(e.getKey()); // no static worker lists: the workers are found on the cluster
            } else {
                c.set(e.getKey(), e.getValue());
            }
        });
        Path dir = Files.createDirectories(Path.of("target", "launcher-test"));
        Path out = dir.resolve(name + ".json");
        JSON.writeValue(out.toFile(), c);
        return out;
    }

    /**
     * conf/cluster.xml under the test run's cluster name: the launcher builds its own Hazelcast config (not through
     * VertxFactory), so {@code $TANDEM_CLUSTER_NAME} is written into the file it reads.
     */
    private static String clusterXml() throws IOException {
        String name = System.getenv(dev.tandem.config.ClusterName.ENV);
        String xml = Files.readString(Path.of("conf", "cluster.xml"));
        if (name != null && !name.isEmpty()) {
            String shipped = "<cluster-name>tandem</cluster-name>";
            assertTrue(xml.contains(shipped), "conf/cluster.xml no longer names the cluster " + shipped);
            xml = xml.replace(shipped, "<cluster-name>" + name + "</cluster-name>");
        }
        Path out = Files.createDirectories(Path.of("target", "launcher-test")).resolve("cluster.xml");
        Files.writeString(out, xml);
        return out.toString();
    }

    private static Process launch(String name, String verticle, Path conf) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx1g",
                "-Dvertx.hazelcast.config=" + clusterXml(), "-Dhazelcast.wait.seconds.before.join=0",
                "-cp", System.getProperty("java.class.path"), "io.vertx.launcher.application.VertxApplication",
                verticle, "-cluster", "-cluster-host", "127.0.0.1", "-conf", conf.toString()));
        Path logs = Files.createDirectories(Path.of("target", "cluster-logs"));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logs.resolve(name + ".log").toFile())
                .start();
    }

    @Test
    void everyRoleStartsWithTheVertxLauncherAndTheGatewayAnswers() throws Exception {
        int gPort = freePort();
        int pPort = freePort();
        int dPort = freePort();
        int bootstrap = freePort();
        String model = TestModels.tiny().toAbsolutePath().toString();
        ObjectNode g = JSON.createObjectNode().put("port", gPort).put("health_interval", 0.2);
        g.putNull("prefill");
        g.putNull("prefill_bootstrap_ports");
        g.putNull("decode");
        List<Process> procs = new ArrayList<>();
        try {
            procs.add(launch("launcher-gateway", "dev.tandem.gateway.GatewayVerticle", conf("gateway", g)));
            procs.add(launch("launcher-prefill", "dev.tandem.worker.WorkerMainVerticle", conf("prefill",
                    JSON.createObjectNode().put("port", pPort).put("bootstrap_port", bootstrap)
                            .put("model_path", model))));
            procs.add(launch("launcher-decode", "dev.tandem.worker.WorkerMainVerticle", conf("decode",
                    JSON.createObjectNode().put("port", dPort).put("model_path", model))));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            boolean healthy = false;
            for (int i = 0; i < 900 && !healthy; i++) {
                for (Process p : procs) {
                    assertTrue(p.isAlive(), "a role exited; see target/cluster-logs/launcher-*.log");
                }
                try {
                    healthy = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gPort + "/health"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode() == 200;
                } catch (IOException notYet) {
                    // still starting
                }
                if (!healthy) {
                    Thread.sleep(100);
                }
            }
            assertTrue(healthy, "the gateway never saw a healthy pair; see target/cluster-logs/launcher-*.log");
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gPort
                            + "/generate")).timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(
                            "{\"text\": \"Hello\", \"sampling_params\": {\"max_new_tokens\": 4, \"temperature\": 0,"
                                    + " \"ignore_eos\": true}}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            JsonNode out = JSON.readTree(r.body());
            assertEquals(4, out.get("output_ids").size(), r.body());
        } finally {
            for (Process p : procs) {
                p.destroy();
            }
            for (Process p : procs) {
                if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }
}
