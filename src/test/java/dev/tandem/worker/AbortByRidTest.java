package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * {@code /abort_request {"rid": "a"}} reaches the request named {@code a} and its derived items ({@code a-0},
 * {@code a-1} of {@code n = 2}), and nothing else: not {@code ab}, not {@code a1}, and not another client's request
 * whose rid is {@code a-1}, all running at the same time.
 */
class AbortByRidTest {
    private static Vertx vertx;
    private static WorkerFixture w;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
        w = new WorkerFixture(vertx, "--max-running-requests", "8");
    }

    @AfterAll
    static void stop() {
        w.close();
        vertx.close().await();
    }

    private static Future<HttpResponse<Buffer>> start(String path, String body) {
        return w.client.post(path).sendBuffer(Buffer.buffer(body));
    }

    private static String longRequest(String rid, int n) {
        return """
                {"input_ids": [508, 65, 66], "rid": "%s",
                 "sampling_params": {"max_new_tokens": 1900, "temperature": 0, "ignore_eos": true, "n": %d}}"""
                .formatted(rid, n);
    }

    private static JsonNode state() {
        return w.get("/get_server_info").json().get("internal_states").get(0);
    }

    private static void awaitRunning(int n) throws InterruptedException {
        for (int i = 0; i < 400 && state().get("num_running_reqs").asInt() < n; i++) {
            Thread.sleep(10);
        }
        assertEquals(n, state().get("num_running_reqs").asInt(), "requests running before the abort");
    }

    /** The running count once it left {@code from} (stats are published after each scheduler step). */
    private static int runningAfter(int from) throws InterruptedException {
        for (int i = 0; i < 400 && state().get("num_running_reqs").asInt() == from; i++) {
            Thread.sleep(10);
        }
        return state().get("num_running_reqs").asInt();
    }

    @AfterEach
    void clean() throws InterruptedException {
        w.post("/abort_request", "{\"abort_all\": true}");
        w.awaitIdle();
    }

    private static void assertAborted(HttpResponse<Buffer> r) throws Exception {
        assertEquals(200, r.statusCode(), r.bodyAsString());
        JsonNode body = WorkerFixture.JSON.readTree(r.bodyAsString());
        for (JsonNode item : body.isArray() ? body : List.of(body)) {
            assertEquals("abort", item.get("meta_info").get("finish_reason").get("type").asText(), item.toString());
        }
    }

    @Test
    void anAbortByRidReachesItsItemsAndNoOtherRequest() throws Exception {
        var a = start("/generate", longRequest("a", 2));
        Map<String, Future<HttpResponse<Buffer>>> others = Map.of("ab", start("/generate", longRequest("ab", 1)),
                "a1", start("/generate", longRequest("a1", 1)), "a-1", start("/generate", longRequest("a-1", 1)));
        awaitRunning(5);
        assertEquals(200, w.post("/abort_request", "{\"rid\": \"a\"}").status());
        assertAborted(a.await());
        // The abort ran as one command on the scheduler thread: had it reached the others, the count would go from
        // 5 straight to 0.
        assertEquals(3, runningAfter(5));
        for (var f : others.values()) {
            assertFalse(f.isComplete(), "another client's request was not aborted");
        }
        for (var e : others.entrySet()) {
            assertEquals(200, w.post("/abort_request", "{\"rid\": \"" + e.getKey() + "\"}").status());
            assertAborted(e.getValue().await());
        }
        w.awaitIdle();
    }

    @Test
    void anAbortReachesEveryOpenAiChoiceOfItsRid() throws Exception {
        var c = start("/v1/completions", """
                {"prompt": [508, 65, 66], "rid": "c", "n": 2, "max_tokens": 1900, "temperature": 0,
                 "ignore_eos": true}""");
        var c0 = start("/generate", longRequest("c-0-0", 1));
        awaitRunning(3);
        assertEquals(200, w.post("/abort_request", "{\"rid\": \"c\"}").status());
        HttpResponse<Buffer> r = c.await();
        assertEquals(200, r.statusCode(), r.bodyAsString());
        JsonNode choices = WorkerFixture.JSON.readTree(r.bodyAsString()).get("choices");
        assertEquals(2, choices.size());
        for (JsonNode choice : choices) {
            assertEquals("abort", choice.get("finish_reason").asText());
        }
        assertEquals(1, runningAfter(3), "the client whose rid is c-0-0 still runs");
        assertFalse(c0.isComplete());
        assertEquals(200, w.post("/abort_request", "{\"rid\": \"c-0-0\"}").status());
        assertAborted(c0.await());
        assertEquals(200, w.post("/abort_request", "{\"rid\": \"nobody\"}").status(), "unknown rid: 200 as SGLang");
        w.awaitIdle();
    }
}
