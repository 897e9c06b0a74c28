package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What the in-process prefill/decode tests share: prompts of random token ids, the colocated reference for them,
 * the same body sent to both workers of a pair (as a load balancer does), the checks that a decode worker's answer
 * equals the colocated one, and every KV page back on every worker at the end.
 */
final class PdTestSupport {
    private PdTestSupport() {
    }

    /** A prompt's {@code input_ids}: 508, then {@code len - 1} ids below 500 drawn from {@code r}. */
    static String randomIds(SplittableRandom r, int len) {
        StringBuilder ids = new StringBuilder("508");
        for (int j = 1; j < len; j++) {
            ids.append(',').append(r.nextInt(500));
        }
        return ids.toString();
    }

    /**
     * A greedy {@code /generate} body with output logprobs ({@code topLogprobs} > 0: and that many top logprobs),
     * left open — no closing brace — so that bootstrap fields can follow ({@link #withRoom}, or {@code + "}"}).
     */
    static String greedyBody(String ids, int topLogprobs, int maxNewTokens) {
        return "{\"input_ids\": [" + ids + "], \"return_logprob\": true, "
                + (topLogprobs > 0 ? "\"top_logprobs_num\": " + topLogprobs + ", " : "")
                + "\"sampling_params\": {\"max_new_tokens\": " + maxNewTokens
                + ", \"temperature\": 0, \"ignore_eos\": true}";
    }

    /** An open body (see {@link #greedyBody}) closed with the bootstrap fields of a room on this host. */
    static String withRoom(String body, int bootstrapPort, long room) {
        return body + ", \"bootstrap_host\": \"127.0.0.1\", \"bootstrap_port\": " + bootstrapPort
                + ", \"bootstrap_room\": " + room + "}";
    }

    /** The colocated worker's answers to the open {@code bodies}, in order. */
    static List<JsonNode> reference(WorkerFixture colocated, List<String> bodies) {
        List<JsonNode> out = new ArrayList<>();
        for (String b : bodies) {
            out.add(colocated.generate(b + "}"));
        }
        return out;
    }

    /** The answers of both workers of a pair, per body, in the order the bodies were sent. */
    record Exchange(List<Future<HttpResponse<Buffer>>> decode, List<Future<HttpResponse<Buffer>>> prefill) {
    }

    /** Each body to the decode worker, then to the prefill worker, all at once: both sides queue concurrently. */
    static Exchange sendToBoth(WorkerFixture prefill, WorkerFixture decode, List<String> bodies) {
        Exchange x = new Exchange(new ArrayList<>(), new ArrayList<>());
        for (String body : bodies) {
            x.decode().add(decode.client.post("/generate").sendBuffer(Buffer.buffer(body)));
            x.prefill().add(prefill.client.post("/generate").sendBuffer(Buffer.buffer(body)));
        }
        return x;
    }

    /** The response's JSON, after checking it is a 200 (the body in the failure message). */
    static JsonNode ok(HttpResponse<Buffer> r) throws Exception {
        assertEquals(200, r.statusCode(), r.bodyAsString());
        return WorkerFixture.JSON.readTree(r.bodyAsString());
    }

    /** Same token ids as the reference and, for each output token, the same logprob within 1e-6. */
    static void assertSameTokensAndLogprobs(JsonNode ref, JsonNode got, String what) {
        assertEquals(ids(ref.get("output_ids")), ids(got.get("output_ids")), what);
        JsonNode refLp = ref.get("meta_info").get("output_token_logprobs");
        JsonNode gotLp = got.get("meta_info").get("output_token_logprobs");
        assertEquals(refLp.size(), gotLp.size());
        for (int k = 0; k < refLp.size(); k++) {
            assertEquals(refLp.get(k).get(0).asDouble(), gotLp.get(k).get(0).asDouble(), 1e-6,
                    what + " output logprob " + k);
        }
    }

    /** The first output token's top logprobs, which reach the decode worker in the aux row, equal the reference's. */
    static void assertSameFirstTopLogprobs(JsonNode ref, JsonNode got, String message) {
        assertEquals(ref.get("meta_info").get("output_top_logprobs").get(0).toString(),
                got.get("meta_info").get("output_top_logprobs").get(0).toString(), message);
    }

    /** Once every worker is idle, none holds a KV page. */
    static void assertAllPagesBack(WorkerFixture... workers) throws InterruptedException {
        for (WorkerFixture w : workers) {
            w.awaitIdle();
        }
        for (WorkerFixture w : workers) {
            assertEquals(0, w.kvPagesUsed());
        }
    }
}
