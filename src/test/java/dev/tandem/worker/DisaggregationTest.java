package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Disaggregated equals colocated: the same body, with bootstrap fields, goes to a prefill and a decode worker at
 * once (as a load balancer sends it); the decode worker's greedy tokens and logprobs equal a colocated worker's.
 */
@ExtendWith(VertxExtension.class)
class DisaggregationTest {
    private static final AtomicLong ROOMS = new AtomicLong(1000);
    private static WorkerFixture colocated;
    private static List<String> bodies;
    private static List<JsonNode> reference;

    @BeforeAll
    static void reference(Vertx vertx) {
        colocated = new WorkerFixture(vertx, "--chunked-prefill-size", "32");
        bodies = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(4);
        int[] lengths = {1, 3, 7, 15, 16, 17, 31, 33, 48, 64, 65, 90, 100, 128, 129, 150, 5, 40, 77, 2};
        for (int len : lengths) {
            String ids = randomIds(r, len);
            bodies.add(greedyBody(ids, 2, 3 + r.nextInt(20)));
        }
        reference = PdTestSupport.reference(colocated, bodies);
    }

    @AfterAll
    static void stop() {
        colocated.close();
    }

    @ParameterizedTest(name = "transport {0}, page size {1}")
    @CsvSource({"shm, 16", "tcp, 16", "shm, 1", "tcp, 1"})
    void decodeOutputEqualsColocatedOutput(String transport, int pageSize, Vertx vertx) throws Exception {
        int bootstrapPort = 20000 + (int) (ROOMS.get() % 10000);
        try (WorkerFixture prefill = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(bootstrapPort), "--transfer-transport", transport, "--page-size",
                String.valueOf(pageSize), "--chunked-prefill-size", "32");
             WorkerFixture decode = new WorkerFixture(vertx, "--mode", "decode", "--transfer-transport", transport,
                     "--page-size", String.valueOf(pageSize))) {
            // All 20 at once: the decode side batches them; both sides queue and transfer concurrently.
            List<String> roomed = new ArrayList<>();
            for (String b : bodies) {
                roomed.add(withRoom(b, bootstrapPort, ROOMS.incrementAndGet()));
            }
            PdTestSupport.Exchange x = sendToBoth(prefill, decode, roomed);
            for (int i = 0; i < bodies.size(); i++) {
                JsonNode dj = ok(x.decode().get(i).await());
                JsonNode pj = ok(x.prefill().get(i).await());
                JsonNode ref = reference.get(i);
                assertSameTokensAndLogprobs(ref, dj, "prompt " + i);
                assertEquals(ref.get("text"), dj.get("text"), "prompt " + i);
                // The prefill answers one token, finish_reason length 0.
                assertEquals(List.of(ids(ref.get("output_ids")).get(0)), ids(pj.get("output_ids")));
                assertEquals("{\"type\":\"length\",\"length\":0}", pj.get("meta_info").get("finish_reason").toString());
                assertSameFirstTopLogprobs(ref, dj, "top logprobs of the first token come through the aux row");
            }
            assertAllPagesBack(prefill, decode);
        }
    }

    @org.junit.jupiter.api.Test
    void aRetractionForcingDecodeWorkerFinishesWithUnchangedOutput(Vertx vertx) throws Exception {
        int bootstrapPort = 20000 + (int) (ROOMS.incrementAndGet() % 10000);
        List<String> longer = new ArrayList<>();
        List<List<Integer>> ref = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            StringBuilder ids = new StringBuilder("508");
            for (int j = 1; j < 20 + i; j++) {
                ids.append(',').append((j * 37 + i * 11) % 500);
            }
            String b = "{\"input_ids\": [" + ids + "], \"sampling_params\": {\"max_new_tokens\": 80, "
                    + "\"temperature\": 0, \"ignore_eos\": true}";
            longer.add(b);
            ref.add(ids(colocated.generate(b + "}").get("output_ids")));
        }
        // 16 pages of 8 tokens and no decode reservation: admitted transfers outgrow the pool while decoding.
        try (WorkerFixture prefill = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(bootstrapPort), "--page-size", "8");
             WorkerFixture decode = new WorkerFixture(vertx, "--mode", "decode", "--page-size", "8",
                     "--max-total-tokens", "128", "--num-reserved-decode-tokens", "0")) {
            List<String> roomed = new ArrayList<>();
            for (String b : longer) {
                roomed.add(withRoom(b, bootstrapPort, ROOMS.incrementAndGet()));
            }
            PdTestSupport.Exchange x = sendToBoth(prefill, decode, roomed); // the prefill's answers are not needed
            for (int i = 0; i < longer.size(); i++) {
                assertEquals(ref.get(i), ids(ok(x.decode().get(i).await()).get("output_ids")));
            }
            decode.awaitIdle();
            JsonNode st = decode.get("/get_server_info").json().get("internal_states").get(0);
            assertTrue(st.get("retracted_reqs").asInt() > 0, "expected retractions: " + st);
            assertEquals(0, st.get("kv_pages_used").asInt());
            prefill.awaitIdle();
            assertEquals(0, prefill.kvPagesUsed());
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"prefill", "decode"})
    void requestsWithoutARoomAreRefused(String mode, Vertx vertx) {
        try (WorkerFixture w = new WorkerFixture(vertx, "--mode", mode, "--bootstrap-port", "29001")) {
            WorkerFixture.Reply r = w.post("/generate", "{\"text\": \"hi\"}");
            assertEquals(400, r.status());
            assertTrue(r.json().get("error").get("message").asText().contains("without bootstrap room"));
            assertEquals(200, w.get("/health_generate").status(), "health uses the fake transfer");
        }
    }
}
