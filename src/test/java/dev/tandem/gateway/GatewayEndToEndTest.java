package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.config.WorkerConfig;
import dev.tandem.worker.WorkerMainVerticle;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real workers on the tiny model behind the gateway: the prefill and decode workers find the gateway by
 * announcing themselves on the event bus, and what the gateway answers equals what a colocated worker answers.
 */
@ExtendWith(VertxExtension.class)
class GatewayEndToEndTest {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private static WebClient client;
    private static int gatewayPort;
    private static int colocatedPort;

    static WorkerConfig worker(String... flags) {
        List<String> argv = new java.util.ArrayList<>(List.of("--model", dev.tandem.TestModels.tiny().toString(),
                "--port", "0"));
        argv.addAll(List.of(flags));
        return WorkerConfig.from(Map.of(), Args.parse(argv.toArray(String[]::new), Set.of()));
    }

    @BeforeAll
    static void start(Vertx vertx) throws Exception {
        GatewayVerticle g = new GatewayVerticle(GatewayConfig.from(Args.parse(new String[] {"--port", "0",
                "--health-interval", "0.2"}, Set.of())));
        vertx.deployVerticle(g).await();
        gatewayPort = g.port();
        // No --prefill/--decode flags: the workers announce themselves on tandem.workers.
        vertx.deployVerticle(new WorkerMainVerticle(worker("--mode", "prefill", "--bootstrap-port", "28301"))).await();
        vertx.deployVerticle(new WorkerMainVerticle(worker("--mode", "decode"))).await();
        WorkerMainVerticle colocated = new WorkerMainVerticle(worker());
        vertx.deployVerticle(colocated).await();
        colocatedPort = colocated.port();
        client = WebClient.create(vertx);
        for (int i = 0; i < 200 && client.get(gatewayPort, "127.0.0.1", "/health").send().await().statusCode() != 200; i++) {
            Thread.sleep(25);
        }
    }

    @AfterAll
    static void stop() {
        client.close();
    }

    private static String post(int port, String path, String body) {
        var r = client.post(port, "127.0.0.1", path).sendBuffer(Buffer.buffer(body)).await();
        assertEquals(200, r.statusCode(), r.bodyAsString());
        return r.bodyAsString();
    }

    @Test
    void generateThroughTheGatewayEqualsTheColocatedWorker() throws Exception {
        for (String body : List.of(
                "{\"text\": \"Hello, world!\", \"sampling_params\": {\"max_new_tokens\": 12, \"temperature\": 0, \"ignore_eos\": true}}",
                "{\"input_ids\": [508, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23], "
                        + "\"return_logprob\": true, \"logprob_start_len\": 0, "
                        + "\"sampling_params\": {\"max_new_tokens\": 6, \"temperature\": 0, \"ignore_eos\": true}}")) {
            JsonNode viaGateway = JSON.readTree(post(gatewayPort, "/generate", body));
            JsonNode colocated = JSON.readTree(post(colocatedPort, "/generate", body));
            assertEquals(colocated.get("output_ids"), viaGateway.get("output_ids"));
            assertEquals(colocated.get("text"), viaGateway.get("text"));
            if (body.contains("return_logprob")) {
                assertEquals(colocated.get("meta_info").get("input_token_logprobs"),
                        viaGateway.get("meta_info").get("input_token_logprobs"), "prompt logprobs from the prefill");
                assertEquals(colocated.get("meta_info").get("output_token_logprobs"),
                        viaGateway.get("meta_info").get("output_token_logprobs"));
            }
        }
    }

    @Test
    void streamingThroughTheGatewayEqualsTheColocatedStream() throws Exception {
        String body = "{\"text\": \"The model is\", \"stream\": true, \"sampling_params\": {\"max_new_tokens\": 8, "
                + "\"temperature\": 0, \"ignore_eos\": true}}";
        List<String> g = GatewayMockTest.events(post(gatewayPort, "/generate", body));
        List<String> c = GatewayMockTest.events(post(colocatedPort, "/generate", body));
        assertEquals("[DONE]", g.get(g.size() - 1));
        assertEquals(ids(c), ids(g));
        assertEquals(JSON.readTree(c.get(c.size() - 2)).get("text"), JSON.readTree(g.get(g.size() - 2)).get("text"));
    }

    private static List<Integer> ids(List<String> events) throws Exception {
        List<Integer> out = new java.util.ArrayList<>();
        for (String e : events) {
            if (!e.equals("[DONE]")) {
                JSON.readTree(e).get("output_ids").forEach(x -> out.add(x.asInt()));
            }
        }
        return out;
    }

    @Test
    void openAiRoutesThroughTheGatewayEqualTheColocatedWorker() throws Exception {
        String completion = "{\"model\": \"tiny\", \"prompt\": \"Hello\", \"max_tokens\": 7, \"temperature\": 0, "
                + "\"ignore_eos\": true}";
        assertEquals(JSON.readTree(post(colocatedPort, "/v1/completions", completion)).get("choices").get(0).get("text"),
                JSON.readTree(post(gatewayPort, "/v1/completions", completion)).get("choices").get(0).get("text"));
        String chat = "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                + "\"max_tokens\": 6, \"temperature\": 0, \"ignore_eos\": true}";
        assertEquals(JSON.readTree(post(colocatedPort, "/v1/chat/completions", chat)).get("choices").get(0)
                        .get("message").get("content"),
                JSON.readTree(post(gatewayPort, "/v1/chat/completions", chat)).get("choices").get(0).get("message")
                        .get("content"));
        String sse = post(gatewayPort, "/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\": "
                + "\"user\", \"content\": \"Hi\"}], \"max_tokens\": 6, \"temperature\": 0, \"ignore_eos\": true, "
                + "\"stream\": true}");
        StringBuilder text = new StringBuilder();
        for (String e : GatewayMockTest.events(sse)) {
            if (!e.equals("[DONE]")) {
                text.append(JSON.readTree(e).get("choices").get(0).get("delta").path("content").asText(""));
            }
        }
        assertEquals(JSON.readTree(post(colocatedPort, "/v1/chat/completions", chat)).get("choices").get(0)
                .get("message").get("content").asText(), text.toString());
    }

    @Test
    void aRealWorkersClientErrorReachesTheClientAsTheColocatedWorkerAnswersIt() throws Exception {
        for (String[] call : new String[][] {
                {"/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": []}"},
                {"/generate", "{\"text\": \"hi\", \"sampling_params\": {\"temperature\": -1}}"},
                {"/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"hi\", \"top_p\": 7}"}}) {
            var viaGateway = client.post(gatewayPort, "127.0.0.1", call[0]).sendBuffer(Buffer.buffer(call[1])).await();
            var colocated = client.post(colocatedPort, "127.0.0.1", call[0]).sendBuffer(Buffer.buffer(call[1])).await();
            assertEquals(400, colocated.statusCode(), call[1] + ": " + colocated.bodyAsString());
            assertEquals(400, viaGateway.statusCode(), call[1] + ": " + viaGateway.bodyAsString());
            JsonNode g = JSON.readTree(viaGateway.bodyAsString());
            JsonNode c = JSON.readTree(colocated.bodyAsString());
            if (call[0].startsWith("/v1/")) {
                assertEquals(c.get("message"), g.get("message"));
                assertEquals(c.get("object"), g.get("object"));
            } else {
                assertEquals(c, g, "the native error, unchanged");
            }
        }
    }

    @Test
    void serverInfoThroughTheGatewayHoldsTheRealWorkersKnownFields() throws Exception {
        JsonNode info = JSON.readTree(client.get(gatewayPort, "127.0.0.1", "/get_server_info").send().await()
                .bodyAsString());
        for (String pool : List.of("prefill", "decode")) {
            JsonNode w = info.get(pool).get(0);
            assertEquals(pool, w.get("disaggregation_mode").asText());
            for (String f : List.of("model_path", "page_size", "max_total_num_tokens", "context_length", "version")) {
                assertTrue(w.has(f), pool + " lacks " + f + ": " + w);
            }
            w.fieldNames().forEachRemaining(f -> assertTrue(f.equals("url") || f.equals("internal_states")
                    || WorkerShapes.serverInfoFields().contains(f), f));
        }
        assertTrue(info.get("internal_states").get(0).has("kv_pages_total"), info.toString());
    }
}
