package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import dev.tandem.transfer.nixl.UcxAssume;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static dev.tandem.worker.PdTestSupport.assertAllPagesBack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Prefill/decode under failures and aborts, over the mooncake and the nixl backend: every request gets an answer,
 * every page comes back, on both sides.
 */
@ExtendWith(VertxExtension.class)
class PdFailureTest {

    private static String body(int len, int maxNew, int port, long room, String extra) {
        StringBuilder ids = new StringBuilder("508");
        for (int j = 1; j < len; j++) {
            ids.append(',').append((j * 31 + (int) room) % 500);
        }
        return "{\"input_ids\": [" + ids + "], \"sampling_params\": {\"max_new_tokens\": " + maxNew
                + ", \"temperature\": 0, \"ignore_eos\": true}, \"bootstrap_host\": \"127.0.0.1\", "
                + "\"bootstrap_port\": " + port + ", \"bootstrap_room\": " + room + extra + "}";
    }

    /** Both real backends run these: the managers' timeouts, heartbeat and abort are the same over either. */
    private static int port(String backend, int offset) {
        if (backend.equals("nixl")) {
            UcxAssume.ucx();
        }
        return (backend.equals("nixl") ? 28200 : 28100) + offset;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mooncake", "nixl"})
    void withFailureProbabilityEveryRequestGetsTokensOrAClearErrorAndNothingLeaks(String backend, Vertx vertx)
            throws Exception {
        int port = port(backend, 1);
        try (WorkerFixture p = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port", "" + port,
                "--failure-prob", "0.05", "--transfer-backend", backend, "--chunked-prefill-size", "16");
             WorkerFixture d = new WorkerFixture(vertx, "--mode", "decode", "--failure-prob", "0.05",
                     "--transfer-backend", backend)) {
            List<Future<HttpResponse<Buffer>>> pr = new ArrayList<>();
            List<Future<HttpResponse<Buffer>>> dr = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                String b = body(5 + i % 40, 4, port, 5000 + i, "");
                dr.add(d.client.post("/generate").sendBuffer(Buffer.buffer(b)));
                pr.add(p.client.post("/generate").sendBuffer(Buffer.buffer(b)));
            }
            int ok = 0;
            int failed = 0;
            for (int i = 0; i < 100; i++) {
                for (var f : List.of(dr.get(i), pr.get(i))) {
                    var r = answer(f, "room " + (5000 + i));
                    JsonNode j = WorkerFixture.JSON.readTree(r.bodyAsString());
                    if (r.statusCode() == 200) {
                        ok++;
                    } else {
                        failed++;
                        assertEquals(500, r.statusCode(), r.bodyAsString());
                        assertTrue(j.get("detail").asText().matches(".*(failed|injected|Aborted|timed out).*"),
                                r.bodyAsString());
                    }
                }
            }
            // p=0.05 applies to every poll (as SGLang's knob does), so most rooms fail; the point is that each
            // one is answered, clearly, and cleaned up.
            assertEquals(200, ok + failed);
            assertTrue(failed > 0, "with p=0.05 some transfers must fail");
            assertAllPagesBack(p, d);
            assertEquals(200, p.get("/health").status());
            assertEquals(200, d.get("/health_generate").status());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mooncake", "nixl"})
    void abortInEveryStateFreesEverythingOnBothSides(String backend, Vertx vertx) throws Exception {
        int port = port(backend, 2);
        try (WorkerFixture p = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port", "" + port,
                "--transfer-backend", backend);
             WorkerFixture d = new WorkerFixture(vertx, "--mode", "decode", "--transfer-backend", backend)) {
            // Bootstrapping / waiting for the prefill side: only the decode worker has the request.
            var onlyD = d.client.post("/generate").sendBuffer(Buffer.buffer(body(20, 8, port, 1, ", \"rid\": \"a1\"")));
            d.awaitState("a1 waiting on the decode worker", st -> st.get("num_waiting_reqs").asInt() == 1);
            assertEquals(200, d.post("/abort_request", "{\"rid\": \"a1\"}").status());
            assertAborted(answer(onlyD, "a1 (decode, aborted while bootstrapping)"));

            // Waiting for input on the prefill side: only the prefill worker has the request.
            var onlyP = p.client.post("/generate").sendBuffer(Buffer.buffer(body(20, 8, port, 2, ", \"rid\": \"a2\"")));
            p.awaitState("a2 waiting on the prefill worker", st -> st.get("num_waiting_reqs").asInt() == 1);
            assertEquals(200, p.post("/abort_request", "{\"rid\": \"a2\"}").status());
            assertAborted(answer(onlyP, "a2 (prefill, aborted while waiting for the decode side)"));

            // Decoding: a long generation, aborted on the decode side after the transfer.
            String b = body(30, 1900, port, 3, ", \"rid\": \"a3\"");
            var dec = d.client.post("/generate").sendBuffer(Buffer.buffer(b));
            var pre = p.client.post("/generate").sendBuffer(Buffer.buffer(b));
            assertEquals(200, answer(pre, "a3 (prefill)").statusCode());
            d.awaitState("a3 decoding", st -> st.get("num_running_reqs").asInt() == 1);
            assertEquals(200, d.post("/abort_request", "{\"rid\": \"a3\"}").status());
            assertAborted(answer(dec, "a3 (decode, aborted while decoding)"));

            // Transferring: the decode side gave its pages to a room the prefill worker has not run yet.
            String t = body(40, 8, port, 4, ", \"rid\": \"a4\"");
            var dt = d.client.post("/generate").sendBuffer(Buffer.buffer(t));
            // Queued (in transfer) with pages: a4's own state. Pages alone are no proof: the stats are a snapshot
            // published after the scheduler's round, so right after a3's answer they may still show a3 running on
            // its pages, and an abort sent then can reach the scheduler before a4 does (it then ends nothing) or
            // before a4's pages are handed over.
            d.awaitState("a4 in transfer with pages, nothing running", st -> st.get("num_running_reqs").asInt() == 0
                    && st.get("num_waiting_reqs").asInt() == 1 && st.get("kv_pages_used").asInt() > 0);
            assertEquals(200, d.post("/abort_request", "{\"rid\": \"a4\"}").status());
            assertAborted(answer(dt, "a4 (decode, aborted while transferring)"));
            var pt = answer(p.client.post("/generate").sendBuffer(Buffer.buffer(t)), "a4 (prefill, after the decode's abort)");
            assertEquals(500, pt.statusCode(), "the prefill side hears the abort: " + pt.bodyAsString());

            assertAllPagesBack(p, d);
        }
    }

    @Test
    void theFakeBackendRunsTheHandshakeButMovesNothing(Vertx vertx) throws Exception {
        int port = 28103;
        try (WorkerFixture p = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port", "" + port,
                "--transfer-backend", "fake");
             WorkerFixture d = new WorkerFixture(vertx, "--mode", "decode", "--transfer-backend", "fake")) {
            String b = body(20, 5, port, 77, "");
            var dr = d.client.post("/generate").sendBuffer(Buffer.buffer(b));
            assertEquals(200, p.post("/generate", b).status());
            var r = answer(dr, "room 77 (decode)");
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals(5, WorkerFixture.JSON.readTree(r.bodyAsString()).get("output_ids").size());
            assertAllPagesBack(p, d);
        }
    }

    /** Every answer here comes within seconds; a lost one fails naming the step, well before JUnit's timeout. */
    private static final long ANSWER_SECONDS = 60;

    private static <T> T answer(Future<T> f, String what) throws Exception {
        try {
            return f.await(ANSWER_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no answer within " + ANSWER_SECONDS + " s: " + what, e);
        }
    }

    private static void assertAborted(HttpResponse<Buffer> r) throws Exception {
        JsonNode j = WorkerFixture.JSON.readTree(r.bodyAsString());
        assertEquals(200, r.statusCode(), r.bodyAsString());
        assertEquals("abort", j.get("meta_info").get("finish_reason").get("type").asText(), r.bodyAsString());
    }
}
