package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.transfer.nixl.UcxAssume;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ClusteredPdTest}'s story over nixl: separate clustered JVMs give colocated output, and the prefill JVM killed
 * with rooms in flight leaves every request answered and every page returned. (The in-process failure tests run over
 * both backends in {@link PdFailureTest}.)
 */
@ExtendWith(VertxExtension.class)
class NixlFailureTest {

    @BeforeEach
    void ucx() {
        UcxAssume.ucx();
    }

    /** Separate clustered JVMs over nixl: colocated output, then the prefill JVM is killed with rooms in flight. */
    @Test
    void separateJvmsGiveColocatedOutputAndSurviveTheDeathOfTheirPrefill(Vertx vertx) throws Exception {
        int pPort = ClusteredPdTest.freePort();
        int dPort = ClusteredPdTest.freePort();
        int bootstrap = ClusteredPdTest.freePort();
        Process prefill = ClusteredPdTest.launch("nixl-prefill", "--mode", "prefill", "--port", "" + pPort,
                "--bootstrap-port", "" + bootstrap, "--transfer-backend", "nixl", "--chunked-prefill-size", "64");
        Process decode = ClusteredPdTest.launch("nixl-decode", "--mode", "decode", "--port", "" + dPort,
                "--heartbeat-interval", "1", "--heartbeat-max-failures", "2", "--transfer-backend", "nixl",
                "--transfer-io-timeout", "5");
        WebClient p = ClusteredPdTest.client(vertx, pPort);
        WebClient d = ClusteredPdTest.client(vertx, dPort);
        try (WorkerFixture colocated = new WorkerFixture(vertx)) {
            ClusteredPdTest.awaitHealthy(p, prefill, "nixl-prefill");
            ClusteredPdTest.awaitHealthy(d, decode, "nixl-decode");
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                bodies.add(ClusteredPdTest.body(1 + i * 9, 6, bootstrap, 300 + i));
            }
            ClusteredPdTest.assertColocatedOutput(colocated, p, d, bodies);
            // the two JVMs' agents chose UCX's shared-memory transports themselves (no UCX_TLS, no code by host)
            UcxAssume.loggedLanes(java.nio.file.Path.of("target", "cluster-logs", "nixl-prefill.log"))
                    .forEach(UcxAssume::assertSharedMemory);
            // and the decode JVM's pool is UCX's memory: the prefill JVM's puts into it take a sysv/posix RMA lane
            UcxAssume.loggedLanes(java.nio.file.Path.of("target", "cluster-logs", "nixl-prefill.log"))
                    .forEach(UcxAssume::assertLoggedRmaOnSharedMemory);
            List<Future<HttpResponse<Buffer>>> doomed = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                String b = ClusteredPdTest.body(300, 8, bootstrap, 900 + i);
                doomed.add(d.post("/generate").sendBuffer(Buffer.buffer(b)));
                p.post("/generate").sendBuffer(Buffer.buffer(b));
            }
            Thread.sleep(300);
            prefill.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            long t0 = System.nanoTime();
            for (var f : doomed) {
                var r = f.await(); // transferred before the kill (200, colocated tokens) or failed clearly (500)
                if (r.statusCode() != 200) {
                    assertEquals(500, r.statusCode(), r.bodyAsString());
                    JsonNode j = WorkerFixture.JSON.readTree(r.bodyAsString());
                    assertTrue(j.get("detail").asText().matches(
                            ".*(prefill|Losing connection|unreachable|register).*"), r.bodyAsString());
                }
            }
            double waited = (System.nanoTime() - t0) / 1e9;
            assertTrue(waited < 30, "decode requests ended " + waited + " s after the prefill died");
            // Pages of rooms given up on without the prefill's word come back once its write leases ran out.
            assertEquals(0, ClusteredPdTest.usedPagesOnceFenced(d), "decode leaked pages");
            assertEquals(200, d.get("/health_generate").send().await().statusCode());
        } finally {
            ClusteredPdTest.stop(prefill, decode);
            dev.tandem.kvcache.ShmFile.removeStale(java.time.Duration.ZERO); // the prefill JVM was killed on purpose
            p.close();
            d.close();
        }
    }

    /**
     * The decode JVM killed (kill -9) with rooms in flight: the prefill's transfers into it fail (UCX reports the
     * pid gone, or the transfer deadline passes), every prefill request is answered, the prefill's pages come back
     * and it keeps serving; its JVM neither crashes nor hangs in UCX.
     */
    @Test
    void thePrefillSurvivesTheDeathOfItsDecodeMidTransfer(Vertx vertx) throws Exception {
        int pPort = ClusteredPdTest.freePort();
        int dPort = ClusteredPdTest.freePort();
        int bootstrap = ClusteredPdTest.freePort();
        Process prefill = ClusteredPdTest.launch("nixl-prefill-2", "--mode", "prefill", "--port", "" + pPort,
                "--bootstrap-port", "" + bootstrap, "--transfer-backend", "nixl", "--chunked-prefill-size", "16",
                "--transfer-io-timeout", "5", "--bootstrap-timeout", "10", "--waiting-timeout", "10");
        Process decode = ClusteredPdTest.launch("nixl-decode-2", "--mode", "decode", "--port", "" + dPort,
                "--transfer-backend", "nixl", "--transfer-io-timeout", "5");
        WebClient p = ClusteredPdTest.client(vertx, pPort);
        WebClient d = ClusteredPdTest.client(vertx, dPort);
        try {
            ClusteredPdTest.awaitHealthy(p, prefill, "nixl-prefill-2");
            ClusteredPdTest.awaitHealthy(d, decode, "nixl-decode-2");
            for (int i = 0; i < 3; i++) {
                String b = ClusteredPdTest.body(40 + i * 7, 4, bootstrap, 500 + i);
                var r = d.post("/generate").sendBuffer(Buffer.buffer(b));
                assertEquals(200, p.post("/generate").sendBuffer(Buffer.buffer(b)).await().statusCode());
                assertEquals(200, r.await().statusCode());
            }
            List<Future<HttpResponse<Buffer>>> prefills = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String b = ClusteredPdTest.body(400, 8, bootstrap, 1500 + i);
                d.post("/generate").sendBuffer(Buffer.buffer(b));
                prefills.add(p.post("/generate").sendBuffer(Buffer.buffer(b)));
            }
            Thread.sleep(200);
            decode.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            long t0 = System.nanoTime();
            for (var f : prefills) {
                int code = f.await().statusCode(); // sent before the kill, or failed with a reason: answered either way
                assertTrue(code == 200 || code >= 400, "prefill answered " + code);
            }
            double waited = (System.nanoTime() - t0) / 1e9;
            assertTrue(waited < 60, "prefill requests ended " + waited + " s after the decode died");
            assertEquals(0, ClusteredPdTest.usedPagesOnceFenced(p), "prefill leaked pages");
            assertTrue(prefill.isAlive(), "the prefill JVM survived");
            assertEquals(200, p.get("/health").send().await().statusCode());
            String log = java.nio.file.Files.readString(java.nio.file.Path.of("target", "cluster-logs",
                    "nixl-prefill-2.log"));
            assertTrue(!log.contains("FATAL") && !log.contains("progress thread failed"), "UCX trouble in the log");
        } finally {
            ClusteredPdTest.stop(prefill, decode);
            dev.tandem.kvcache.ShmFile.removeStale(java.time.Duration.ZERO); // the decode JVM was killed on purpose
            p.close();
            d.close();
        }
    }
}
