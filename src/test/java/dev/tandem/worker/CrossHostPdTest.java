package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.testbed.TestBed;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gateway, two prefill and two decode workers as five JVMs on five "hosts" (network namespaces with their own
 * addresses, hostnames and /dev/shm): Hazelcast joins across the bridge, workers announce themselves to the gateway,
 * the KV moves over authenticated TCP between namespaces, and 20 prompts through the gateway give exactly a colocated
 * worker's greedy tokens. Skipped where network namespaces cannot be made.
 */
@ExtendWith(VertxExtension.class)
class CrossHostPdTest {
    @Test
    void disaggregatedAcrossNamespacesEqualsColocated(Vertx vertx) throws Exception {
        try (TestBed bed = TestBed.up(5); WorkerFixture colocated = new WorkerFixture(vertx)) {
            String model = TestBed.model();
            // Wildcard hosts: the gateway and one worker per role bind every interface and advertise a detected
            // address (the namespace's only non-loopback one) or the one given with --advertise-host.
            bed.launch(1, "gateway", "gateway", "--host", "0.0.0.0", "--port", "8000", "--cluster",
                    "--policy", "round_robin", "--health-interval", "0.5");
            for (int h = 2; h <= 3; h++) {
                bed.launch(h, "prefill-h" + h, "worker", "--mode", "prefill", "--model", model, "--host",
                        h == 3 ? "0.0.0.0" : TestBed.addr(h), "--port", "30001", "--bootstrap-port", "8998", "--cluster");
            }
            for (int h = 4; h <= 5; h++) {
                List<String> flags = new java.util.ArrayList<>(List.of("worker", "--mode", "decode", "--model", model,
                        "--port", "30002", "--cluster"));
                flags.addAll(h == 5 ? List.of("--host", "0.0.0.0", "--advertise-host", TestBed.addr(h))
                        : List.of("--host", TestBed.addr(h)));
                bed.launch(h, "decode-h" + h, flags.toArray(String[]::new));
            }
            WebClient g = WebClient.create(vertx, new WebClientOptions().setDefaultHost(TestBed.addr(1))
                    .setDefaultPort(8000).setConnectTimeout(2000));
            JsonNode workers = null;
            for (int i = 0; i < 1200; i++) { // 5 JVMs start on 2 cores: allow two minutes
                try {
                    workers = g.get("/list_workers").timeout(2000).send().await().bodyAsJson(JsonNode.class);
                    if (confirmed(workers.get("prefill")) == 2 && confirmed(workers.get("decode")) == 2
                            && g.get("/health").timeout(2000).send().await().statusCode() == 200) {
                        break;
                    }
                } catch (Exception notYet) {
                    // still starting
                }
                Thread.sleep(100);
            }
            assertTrue(workers != null && confirmed(workers.get("prefill")) == 2 && confirmed(workers.get("decode")) == 2,
                    "the gateway did not hear of all four workers: " + workers + " (logs: target/testbed)");
            List<String> urls = new java.util.ArrayList<>();
            workers.get("prefill").forEach(w -> urls.add(w.get("url").asText()));
            workers.get("decode").forEach(w -> urls.add(w.get("url").asText()));
            assertEquals(List.of("http://" + TestBed.addr(2) + ":30001", "http://" + TestBed.addr(3) + ":30001",
                    "http://" + TestBed.addr(4) + ":30002", "http://" + TestBed.addr(5) + ":30002"), urls,
                    "every worker announced a routable address, wildcard ones included");
            for (int i = 0; i < 20; i++) {
                StringBuilder idsText = new StringBuilder("508");
                for (int j = 1; j < 1 + i * 9; j++) {
                    idsText.append(',').append((j * 17 + i * 5) % 500);
                }
                String body = "{\"input_ids\": [" + idsText + "], \"sampling_params\": {\"max_new_tokens\": 6, "
                        + "\"temperature\": 0, \"ignore_eos\": true}}";
                var r = g.post("/generate").timeout(60_000).sendBuffer(Buffer.buffer(body)).await();
                assertEquals(200, r.statusCode(), r.bodyAsString());
                assertEquals(ids(colocated.generate(body).get("output_ids")),
                        ids(WorkerFixture.JSON.readTree(r.bodyAsString()).get("output_ids")), "prompt " + i);
            }
            // Each host had a /dev/shm of its own: none of their pools appeared in this host's.
            try (var files = Files.list(Path.of("/dev/shm"))) {
                List<String> leaked = files.map(p -> p.getFileName().toString())
                        .filter(n -> n.contains("10.213.0.")).toList();
                assertEquals(List.of(), leaked);
            }
            g.close();
        }
    }

    private static long confirmed(JsonNode pool) {
        long n = 0;
        for (JsonNode w : pool) {
            if (w.path("healthy").asBoolean() && w.path("confirmed").asBoolean()) {
                n++;
            }
        }
        return n;
    }
}
