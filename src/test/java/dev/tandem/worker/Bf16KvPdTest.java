package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static dev.tandem.worker.PdTestSupport.assertAllPagesBack;
import static dev.tandem.worker.PdTestSupport.assertSameTokensAndLogprobs;
import static dev.tandem.worker.PdTestSupport.greedyBody;
import static dev.tandem.worker.PdTestSupport.ok;
import static dev.tandem.worker.PdTestSupport.randomIds;
import static dev.tandem.worker.PdTestSupport.withRoom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --kv-cache-dtype bf16} across a prefill/decode pair: with bf16 KV on both sides the decode worker's greedy
 * tokens and logprobs equal a colocated bf16 worker's (the pushed pages are half as long and hold the same rounded
 * values); a decode worker whose KV dtype differs from its prefill peer's is refused at registration, with both
 * values named, instead of reading float32 pages as bf16.
 */
@ExtendWith(VertxExtension.class)
class Bf16KvPdTest {

    @Test
    void bf16DecodeOutputEqualsBf16ColocatedOutput(Vertx vertx) throws Exception {
        List<String> bodies = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(12);
        for (int len : new int[] {1, 17, 33, 64, 90}) {
            bodies.add(greedyBody(randomIds(r, len), 0, 12));
        }
        List<JsonNode> reference;
        List<JsonNode> float32;
        try (WorkerFixture colocated = new WorkerFixture(vertx, "--kv-cache-dtype", "bf16");
             WorkerFixture f32 = new WorkerFixture(vertx)) {
            reference = PdTestSupport.reference(colocated, bodies);
            float32 = PdTestSupport.reference(f32, bodies);
        }
        int port = 21000 + new SplittableRandom().nextInt(5000);
        try (WorkerFixture prefill = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(port), "--kv-cache-dtype", "bf16");
             WorkerFixture decode = new WorkerFixture(vertx, "--mode", "decode", "--kv-cache-dtype", "bfloat16")) {
            List<Future<io.vertx.ext.web.client.HttpResponse<Buffer>>> dResp = new ArrayList<>();
            for (int i = 0; i < bodies.size(); i++) {
                String body = withRoom(bodies.get(i), port, 7000 + i);
                dResp.add(decode.client.post("/generate").sendBuffer(Buffer.buffer(body)));
                assertEquals(200, prefill.post("/generate", body).status());
            }
            boolean differsFromFloat32 = false;
            for (int i = 0; i < bodies.size(); i++) {
                JsonNode ref = reference.get(i);
                assertSameTokensAndLogprobs(ref, ok(dResp.get(i).await()), "prompt " + i);
                JsonNode refLp = ref.get("meta_info").get("output_token_logprobs");
                for (int k = 0; k < refLp.size(); k++) {
                    differsFromFloat32 |= refLp.get(k).get(0).asDouble() != float32.get(i).get("meta_info")
                            .get("output_token_logprobs").get(k).get(0).asDouble();
                }
            }
            assertTrue(differsFromFloat32, "bf16 KV logprobs equal float32 KV ones: the pool did not round");
            assertAllPagesBack(prefill, decode);
        }
    }

    @Test
    void aDecodeWorkerWithAnotherKvDtypeIsRefusedNamingBothValues(Vertx vertx) throws Exception {
        int port = 26000 + new SplittableRandom().nextInt(3000);
        try (WorkerFixture prefill = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(port));
             WorkerFixture decode = new WorkerFixture(vertx, "--mode", "decode", "--kv-cache-dtype", "bf16")) {
            String body = withRoom("{\"input_ids\": [508, 1, 2, 3], \"sampling_params\": "
                    + "{\"max_new_tokens\": 3, \"temperature\": 0}", port, 9001);
            WorkerFixture.Reply d = decode.post("/generate", body);
            assertNotEquals(200, d.status(), d.body());
            assertTrue(d.body().contains("kv_cache_dtype is bf16 on the decode worker but float32 here"), d.body());
            decode.awaitIdle();
            assertEquals(0, decode.kvPagesUsed());
        }
    }
}
