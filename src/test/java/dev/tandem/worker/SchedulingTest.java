package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Continuous batching must not change what a request computes: batched, chunked, retracted or alone, greedy
 * output is the same, and every page comes back.
 */
@ExtendWith(VertxExtension.class)
class SchedulingTest {

    /** Prompts of mixed lengths (3..120 tokens) and output lengths. */
    private static List<String> bodies(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int len = 3 + r.nextInt(118);
            StringBuilder ids = new StringBuilder("508");
            for (int j = 1; j < len; j++) {
                ids.append(',').append(r.nextInt(500));
            }
            int max = 4 + r.nextInt(28);
            out.add("{\"input_ids\": [" + ids + "], \"sampling_params\": {\"max_new_tokens\": " + max
                    + ", \"temperature\": 0, \"ignore_eos\": true}}");
        }
        return out;
    }

    private static List<List<Integer>> alone(WorkerFixture w, List<String> bodies) {
        List<List<Integer>> out = new ArrayList<>();
        for (String b : bodies) {
            out.add(ids(w.generate(b).get("output_ids")));
        }
        return out;
    }

    private static List<List<Integer>> concurrently(WorkerFixture w, List<String> bodies) {
        List<Future<io.vertx.ext.web.client.HttpResponse<Buffer>>> pending = new ArrayList<>();
        for (String b : bodies) {
            pending.add(w.client.post("/generate").sendBuffer(Buffer.buffer(b)));
        }
        List<List<Integer>> out = new ArrayList<>();
        for (var f : pending) {
            var resp = f.await();
            assertEquals(200, resp.statusCode(), resp.bodyAsString());
            out.add(ids(new WorkerFixture.Reply(200, resp.bodyAsString()).json().get("output_ids")));
        }
        return out;
    }

    @Test
    void thirtyTwoConcurrentRequestsGiveExactlyWhatEachGivesAlone(Vertx vertx) throws Exception {
        try (WorkerFixture w = new WorkerFixture(vertx, "--max-running-requests", "32",
                "--chunked-prefill-size", "256")) {
            List<String> bodies = bodies(32, 1);
            List<List<Integer>> ref = alone(w, bodies);
            assertEquals(ref, concurrently(w, bodies));
            w.awaitIdle();
            assertEquals(0, w.kvPagesUsed());
        }
    }

    @Test
    void chunkedPrefillOnAndOffGiveIdenticalOutput(Vertx vertx) throws Exception {
        List<String> bodies = bodies(12, 2);
        List<List<Integer>> chunked;
        List<List<Integer>> whole;
        try (WorkerFixture w = new WorkerFixture(vertx, "--chunked-prefill-size", "16")) {
            chunked = concurrently(w, bodies);
            assertEquals(chunked, alone(w, bodies));
        }
        try (WorkerFixture w = new WorkerFixture(vertx, "--chunked-prefill-size", "-1")) {
            whole = concurrently(w, bodies);
        }
        assertEquals(whole, chunked);
    }

    @Test
    void aTinyPoolForcesRetractionAndEveryRequestStillFinishesUnchanged(Vertx vertx) throws Exception {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            StringBuilder ids = new StringBuilder("508");
            for (int j = 1; j < 20 + i; j++) {
                ids.append(',').append((j * 37 + i * 11) % 500);
            }
            bodies.add("{\"input_ids\": [" + ids + "], \"sampling_params\": {\"max_new_tokens\": 90, "
                    + "\"temperature\": 0, \"ignore_eos\": true}}");
        }
        List<List<Integer>> ref;
        try (WorkerFixture big = new WorkerFixture(vertx)) {
            ref = alone(big, bodies);
        }
        // 16 pages of 8 tokens = 128 slots: one request needs up to 117, eight need ~900.
        try (WorkerFixture w = new WorkerFixture(vertx, "--max-total-tokens", "128", "--page-size", "8",
                "--max-running-requests", "8")) {
            assertEquals(ref, concurrently(w, bodies));
            w.awaitIdle();
            JsonNode st = w.get("/get_server_info").json().get("internal_states").get(0);
            assertTrue(st.get("retracted_reqs").asInt() > 0, "expected retractions: " + st);
            assertEquals(0, st.get("kv_pages_used").asInt());
        }
    }

    @Test
    void aClientThatDisconnectsAbortsItsRequest(Vertx vertx) throws Exception {
        try (WorkerFixture w = new WorkerFixture(vertx)) {
            HttpClient http = vertx.createHttpClient(new HttpClientOptions());
            CompletableFuture<Void> gotChunk = new CompletableFuture<>();
            var req = http.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
                    .setPort(w.port).setURI("/generate")).await();
            req.response().onSuccess(resp -> resp.handler(buf -> gotChunk.complete(null)));
            req.end("{\"input_ids\": [508, 1, 2], \"stream\": true, \"sampling_params\": {\"max_new_tokens\": 1900,"
                    + " \"ignore_eos\": true}}");
            gotChunk.get(20, TimeUnit.SECONDS);
            // The chunk leaves during the round that admitted the request, the stats after it: read the pages from
            // the first snapshot that shows the request running (an earlier one predates it and holds none).
            JsonNode running = w.awaitState("the streaming request running",
                    st -> st.get("num_running_reqs").asInt() == 1);
            assertTrue(running.get("kv_pages_used").asInt() > 0, "the request holds pages while it runs");
            req.connection().close().await();
            w.awaitIdle();
            assertEquals(0, w.kvPagesUsed());
            http.close().await();
        }
    }
}
