package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TestModels;
import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.config.WorkerConfig;
import dev.tandem.worker.WorkerMainVerticle;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * cache_aware with real workers publishing KV events on the event bus: a prompt seen before goes back to the prefill
 * worker that cached it (its answer reports the prefill's cache hit), a new prompt to the emptier worker.
 */
@ExtendWith(VertxExtension.class)
class GatewayCacheAwareEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static int freePort() throws Exception {
        return dev.tandem.launch.FreePorts.loopback();
    }

    private static WorkerConfig worker(String... flags) {
        List<String> argv = new ArrayList<>(List.of("--model", TestModels.tiny().toString(), "--port", "0",
                "--host", "127.0.0.1"));
        argv.addAll(List.of(flags));
        return WorkerConfig.from(Map.of(), Args.parse(argv.toArray(String[]::new), Set.of()));
    }

    @Test
    void aRepeatedPromptReturnsToTheWorkerThatCachedIt(Vertx vertx) throws Exception {
        GatewayVerticle g = new GatewayVerticle(GatewayConfig.from(Args.parse(new String[] {"--port", "0",
                "--health-interval", "0.2", "--prefill-policy", "cache_aware", "--decode-policy", "round_robin",
                "--tokenizer-path", TestModels.tiny().toString()}, Set.of())));
        vertx.deployVerticle(g).await();
        for (int i = 0; i < 2; i++) { // the workers announce themselves to the gateway
            vertx.deployVerticle(new WorkerMainVerticle(worker("--mode", "prefill", "--bootstrap-port",
                    String.valueOf(freePort()), "--kv-events-config", "{\"publisher\": \"eventbus\"}"))).await();
        }
        vertx.deployVerticle(new WorkerMainVerticle(worker("--mode", "decode"))).await();
        WebClient client = WebClient.create(vertx);
        KvEventsListenerTest.await("two healthy prefill workers", () -> prefill(client, g).stream()
                .filter(w -> w.getBoolean("healthy")).count() == 2);

        String a = prompt(100);
        String b = prompt(300);
        assertEquals(0, cachedTokens(client, g, a), "cold");
        KvEventsListenerTest.await("A's pages indexed", () -> blocks(client, g).stream().mapToLong(x -> x).sum() > 0);
        List<Long> afterA = blocks(client, g);
        int holder = afterA.get(0) > 0 ? 0 : 1;
        assertEquals(0, afterA.get(1 - holder), "only the worker that ran A holds it");
        for (int i = 0; i < 3; i++) {
            assertEquals(48, cachedTokens(client, g, a), "A again, on its holder: 3 of its 4 pages reused");
        }
        assertEquals(0, cachedTokens(client, g, b), "B: new, to the empty worker");
        KvEventsListenerTest.await("B's pages indexed on the other worker",
                () -> blocks(client, g).get(1 - holder) > 0);
        assertEquals(48, cachedTokens(client, g, b));
        assertEquals(48, cachedTokens(client, g, a));
    }

    /** 64 token ids from {@code from}: four 16-token pages. */
    private static String prompt(int from) {
        return new JsonArray(IntStream.range(from, from + 64).boxed().toList()).encode();
    }

    private static int cachedTokens(WebClient client, GatewayVerticle g, String ids) throws Exception {
        var r = client.post(g.port(), "127.0.0.1", "/generate").sendBuffer(Buffer.buffer("{\"input_ids\": " + ids
                + ", \"sampling_params\": {\"max_new_tokens\": 2, \"temperature\": 0}}")).await();
        assertEquals(200, r.statusCode(), r.bodyAsString());
        JsonNode j = JSON.readTree(r.bodyAsString());
        return j.get("meta_info").get("cached_tokens").asInt();
    }

    private static List<JsonObject> prefill(WebClient client, GatewayVerticle g) {
        JsonArray a = client.get(g.port(), "127.0.0.1", "/list_workers").send().await().bodyAsJsonObject()
                .getJsonArray("prefill");
        List<JsonObject> out = new ArrayList<>();
        a.forEach(o -> out.add((JsonObject) o));
        return out;
    }

    /** cached_blocks of each prefill worker, in URL order. */
    private static List<Long> blocks(WebClient client, GatewayVerticle g) {
        return prefill(client, g).stream().map(w -> w.getLong("cached_blocks")).toList();
    }
}
