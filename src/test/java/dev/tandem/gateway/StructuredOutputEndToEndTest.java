package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.StructuredCases;
import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.worker.WorkerMainVerticle;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Structured outputs in PD mode through the gateway: the prefill worker samples the first token under the
 * constraint, the decode worker rebuilds the constraint's state from it and goes on. Sampled outputs all validate;
 * greedy outputs equal a colocated worker's token for token.
 */
@ExtendWith(VertxExtension.class)
class StructuredOutputEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static WebClient client;
    private static int gatewayPort;
    private static int colocatedPort;

    @BeforeAll
    static void start(Vertx vertx) throws Exception {
        int bootstrap = dev.tandem.launch.FreePorts.loopback();
        GatewayVerticle g = new GatewayVerticle(GatewayConfig.from(Args.parse(new String[] {"--port", "0",
                "--health-interval", "0.2"}, Set.of())));
        vertx.deployVerticle(g).await();
        gatewayPort = g.port();
        vertx.deployVerticle(new WorkerMainVerticle(GatewayEndToEndTest.worker("--mode", "prefill", "--bootstrap-port",
                String.valueOf(bootstrap)))).await();
        vertx.deployVerticle(new WorkerMainVerticle(GatewayEndToEndTest.worker("--mode", "decode"))).await();
        WorkerMainVerticle colocated = new WorkerMainVerticle(GatewayEndToEndTest.worker());
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

    private static JsonNode post(int port, String path, String body) throws Exception {
        var r = client.post(port, "127.0.0.1", path).sendBuffer(Buffer.buffer(body)).await();
        assertEquals(200, r.statusCode(), r.bodyAsString());
        return JSON.readTree(r.bodyAsString());
    }

    @Test
    void thirtySampledOutputsOfEachConstraintValidateThroughThePdPair() throws Exception {
        for (StructuredCases.Case c : StructuredCases.all()) {
            JsonNode out = post(gatewayPort, "/generate", "{\"text\": \"Answer:\", \"sampling_params\": {"
                    + "\"temperature\": 1, \"n\": 30, \"max_new_tokens\": 200, \"" + c.field() + "\": " + c.quoted()
                    + "}}");
            assertEquals(30, out.size(), out.toString());
            for (JsonNode o : out) {
                assertEquals("stop", o.get("meta_info").get("finish_reason").get("type").asText(), c.name() + ": " + o);
                assertTrue(c.valid().test(o.get("text").asText()), c.name() + ": " + o.get("text"));
            }
        }
    }

    @Test
    void greedyPdOutputEqualsColocatedUnderEveryConstraint() throws Exception {
        for (StructuredCases.Case c : StructuredCases.all()) {
            for (String prompt : new String[] {"Answer:", "The cat sat on the mat and"}) {
                String body = "{\"text\": \"" + prompt + "\", \"sampling_params\": {\"temperature\": 0,"
                        + " \"max_new_tokens\": 200, \"" + c.field() + "\": " + c.quoted() + "}}";
                JsonNode pd = post(gatewayPort, "/generate", body);
                JsonNode co = post(colocatedPort, "/generate", body);
                assertEquals(co.get("output_ids"), pd.get("output_ids"), c.name() + " / " + prompt);
                assertEquals(co.get("text"), pd.get("text"));
                assertTrue(c.valid().test(pd.get("text").asText()), c.name() + ": " + pd.get("text"));
            }
        }
    }

    @Test
    void chatResponseFormatThroughTheGatewayEqualsColocated() throws Exception {
        String body = "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": 0,"
                + " \"max_tokens\": 200, \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\":"
                + " \"r\", \"strict\": true, \"schema\": " + StructuredCases.REF + "}}}";
        JsonNode pd = post(gatewayPort, "/v1/chat/completions", body).get("choices").get(0);
        JsonNode co = post(colocatedPort, "/v1/chat/completions", body).get("choices").get(0);
        assertEquals(co.get("message"), pd.get("message"));
        assertEquals("stop", pd.get("finish_reason").asText());
        assertTrue(StructuredCases.all().get(1).valid().test(pd.get("message").get("content").asText()));
        var bad = client.post(gatewayPort, "127.0.0.1", "/generate").sendBuffer(Buffer.buffer(
                "{\"text\": \"a\", \"sampling_params\": {\"json_schema\": \"{\\\"not\\\": {}}\"}}")).await();
        assertEquals(400, bad.statusCode(), bad.bodyAsString());
        assertTrue(bad.bodyAsString().contains("'not'"), bad.bodyAsString());
    }
}
