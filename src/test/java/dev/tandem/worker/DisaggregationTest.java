package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
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
            StringBuilder ids = new StringBuilder("508");
            for (int j = 1; j < len; j++) {
                ids.append(',').append(r.nextInt(500));
            }
            bodies.add("{\"input_ids\": [" + ids + "], \"return_logprob\": true, \"top_logprobs_num\": 2, "
                    + "\"sampling_params\": {\"max_new_tokens\": " + (3 + r.nextInt(20))
                    + ", \"temperature\": 0, \"ignore_eos\": true}");
        }
        reference = new ArrayList<>();
        for (String b : bodies) {
            reference.add(colocated.generate(b + "}"));
        }
    }

    @AfterAll
    static void stop() {
        colocated.close();
    }

    static String withRoom(String body, int bootstrapPort, long room) {
        return body + ", \"bootstrap_host\": \"127.0.0.1\", \"bootstrap_port\": " + bootstrapPort
                + ", \"bootstrap_room\": " + room + "}";
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
            List<Future<io.vertx.ext.web.client.HttpResponse<Buffer>>> dResp = new ArrayList<>();
            List<Future<io.vertx.ext.web.client.HttpResponse<Buffer>>> pResp = new ArrayList<>();
            for (String b : bodies) {
                String body = withRoom(b, bootstrapPort, ROOMS.incrementAndGet());
                dResp.add(decode.client.post("/generate").sendBuffer(Buffer.buffer(body)));
                pResp.add(prefill.client.post("/generate").sendBuffer(Buffer.buffer(body)));
            }
            for (int i = 0; i < bodies.size(); i++) {
                var d = dResp.get(i).await();
                var p = pResp.get(i).await();
                assertEquals(200, d.statusCode(), d.bodyAsString());
                assertEquals(200, p.statusCode(), p.bodyAsString());
                JsonNode dj = WorkerFixture.JSON.readTree(d.bodyAsString());
                JsonNode pj = WorkerFixture.JSON.readTree(p.bodyAsString());
                JsonNode ref = reference.get(i);
                assertEquals(ids(ref.get("output_ids")), ids(dj.get("output_ids")), "prompt " + i);
                assertEquals(ref.get("text"), dj.get("text"), "prompt " + i);
                // The prefill answers one token, finish_reason length 0.
                assertEquals(List.of(ids(ref.get("output_ids")).get(0)), ids(pj.get("output_ids")));
                assertEquals("{\"type\":\"length\",\"length\":0}", pj.get("meta_info").get("finish_reason").toString());
                JsonNode refLp = ref.get("meta_info").get("output_token_logprobs");
                JsonNode dLp = dj.get("meta_info").get("output_token_logprobs");
                assertEquals(refLp.size(), dLp.size());
                for (int k = 0; k < refLp.size(); k++) {
                    assertEquals(refLp.get(k).get(0).asDouble(), dLp.get(k).get(0).asDouble(), 1e-6,
                            "prompt " + i + " output logprob " + k);
                }
                assertEquals(ref.get("meta_info").get("output_top_logprobs").get(0).toString(),
                        dj.get("meta_info").get("output_top_logprobs").get(0).toString(),
                        "top logprobs of the first token come through the aux row");
            }
            prefill.awaitIdle();
            decode.awaitIdle();
            assertEquals(0, prefill.kvPagesUsed());
            assertEquals(0, decode.kvPagesUsed());
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
            List<Future<io.vertx.ext.web.client.HttpResponse<Buffer>>> dResp = new ArrayList<>();
            for (String b : longer) {
                String body = withRoom(b, bootstrapPort, ROOMS.incrementAndGet());
                dResp.add(decode.client.post("/generate").sendBuffer(Buffer.buffer(body)));
                prefill.client.post("/generate").sendBuffer(Buffer.buffer(body));
            }
            for (int i = 0; i < longer.size(); i++) {
                var d = dResp.get(i).await();
                assertEquals(200, d.statusCode(), d.bodyAsString());
                assertEquals(ref.get(i), ids(WorkerFixture.JSON.readTree(d.bodyAsString()).get("output_ids")));
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
