package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.transfer.nixl.Live;
import dev.tandem.transfer.nixl.UcxAssume;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

import static dev.tandem.worker.PdTestSupport.assertAllPagesBack;
import static dev.tandem.worker.PdTestSupport.assertSameFirstTopLogprobs;
import static dev.tandem.worker.PdTestSupport.assertSameTokensAndLogprobs;
import static dev.tandem.worker.PdTestSupport.greedyBody;
import static dev.tandem.worker.PdTestSupport.ok;
import static dev.tandem.worker.PdTestSupport.randomIds;
import static dev.tandem.worker.PdTestSupport.sendToBoth;
import static dev.tandem.worker.PdTestSupport.withRoom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Disaggregated equals colocated over the nixl backend (UCX agents, descriptor-list puts, notifications), and a
 * prefill and a decode worker on different backends refuse to pair, saying so.
 */
@ExtendWith(VertxExtension.class)
class NixlDisaggregationTest {
    private static final AtomicLong ROOMS = new AtomicLong(7_000_000);
    private static WorkerFixture colocated;
    private static List<String> bodies;
    private static List<JsonNode> reference;

    @BeforeAll
    static void reference(Vertx vertx) {
        if (dev.tandem.transfer.nixl.Ucx.unavailableReason() != null) {
            return; // each test skips (or fails under TANDEM_REQUIRE_UCX=1) with the reason
        }
        colocated = new WorkerFixture(vertx, "--chunked-prefill-size", "32");
        bodies = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(13);
        int[] lengths = {1, 2, 5, 15, 16, 17, 31, 32, 33, 47, 64, 65, 90, 100, 127, 128, 129, 150, 40, 77, 8};
        for (int len : lengths) {
            String ids = randomIds(r, len);
            bodies.add(greedyBody(ids, 3, 2 + r.nextInt(20)));
        }
        reference = PdTestSupport.reference(colocated, bodies);
    }

    @AfterAll
    static void stop() {
        if (colocated != null) {
            colocated.close();
        }
    }

    @BeforeEach
    void ucx() {
        UcxAssume.ucx();
    }

    private static int bootstrapPort() {
        return 21000 + (int) (ROOMS.incrementAndGet() % 9000);
    }

    @ParameterizedTest(name = "{0}, page size {1}")
    @CsvSource({"push, 16", "push, 1", "pull, 16", "pull, 1"})
    void decodeOutputEqualsColocatedOutputOverNixl(String mode, int pageSize, Vertx vertx) throws Exception {
        Live.Counts before = Live.now();
        int port = bootstrapPort();
        try (WorkerFixture prefill = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(port), "--transfer-backend", "nixl", "--nixl-mode", mode, "--page-size",
                String.valueOf(pageSize), "--chunked-prefill-size", "32");
             WorkerFixture decode = new WorkerFixture(vertx, "--mode", "decode", "--transfer-backend", "nixl",
                     "--page-size", String.valueOf(pageSize))) {
            List<String> roomed = new ArrayList<>();
            for (String b : bodies) { // all at once: both sides queue, chunk and transfer concurrently
                roomed.add(withRoom(b, port, ROOMS.incrementAndGet()));
            }
            PdTestSupport.Exchange x = sendToBoth(prefill, decode, roomed);
            for (int i = 0; i < bodies.size(); i++) {
                JsonNode dj = ok(x.decode().get(i).await());
                ok(x.prefill().get(i).await());
                JsonNode ref = reference.get(i);
                assertSameTokensAndLogprobs(ref, dj, "prompt " + i);
                // the whole aux row travels (SGLang's NIXL backend sends only the token): the first token's top-k
                assertSameFirstTopLogprobs(ref, dj, "prompt " + i);
            }
            assertAllPagesBack(prefill, decode);
            assertEquals(before.contexts() + 2, Live.now().contexts(), "one agent per worker");
            assertEquals(before.allocations() + 4, Live.now().allocations(),
                    "each worker's KV pool and aux rows live in memory its agent's UCX allocated");
        }
        assertEquals(before, Live.now(), "closing the workers released their agents' native objects (and the pools' "
                + "UCX memory)");
    }

    @ParameterizedTest(name = "prefill {0}, decode {1}")
    @CsvSource({"mooncake, nixl", "nixl, mooncake"})
    void workersOnDifferentBackendsRefuseToPair(String prefillBackend, String decodeBackend, Vertx vertx)
            throws Exception {
        int port = bootstrapPort();
        try (WorkerFixture prefill = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(port), "--transfer-backend", prefillBackend, "--bootstrap-timeout", "3");
             WorkerFixture decode = new WorkerFixture(vertx, "--mode", "decode", "--transfer-backend",
                     decodeBackend)) {
            String body = withRoom(bodies.get(3), port, ROOMS.incrementAndGet());
            var d = decode.client.post("/generate").sendBuffer(Buffer.buffer(body));
            var p = prefill.client.post("/generate").sendBuffer(Buffer.buffer(body));
            HttpResponse<Buffer> dr = d.await();
            assertNotEquals(200, dr.statusCode());
            String msg = dr.bodyAsString();
            assertTrue(msg.contains("transfer backend mismatch") && msg.contains(prefillBackend)
                    && msg.contains(decodeBackend), msg);
            assertNotEquals(200, p.await().statusCode(), "the prefill side's room times out in bootstrap");
            assertAllPagesBack(prefill, decode);
        }
    }
}
