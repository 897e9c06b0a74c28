package dev.tandem.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.ApiException;
import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.config.GatewayConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pure rules for what the gateway takes from workers and clients: worker URLs, worker answers, batch sizes. */
class WorkerInputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Shaped like a server-side request forgery, or not scheme://host:port. */
    static final List<String> BAD_URLS = List.of("http://u:p@h:1", "http://h:1/x", "http://h:1?q", "http://h:1#f",
            "http://h:1?", "http://h:1#", "file:///etc/passwd", "h:1", "http://h", "gopher://h:1", "http://h:0",
            "http://h:65536", "http://h:99999999999", "//h:1", "http:h:1", "http://h_x:1", "http://-h:1",
            "http://h:1/..", "http://h:1//", "http://[zz]:1", "http://h :1", " http://h:1", "", "http://:1",
            "ftp://127.0.0.1:21", "HTTP://u@127.0.0.1:1", "http://h.:1", "javascript://h:1");

    @Test
    void workerUrlsAreSchemeHostPortAndNothingElse() {
        for (String bad : BAD_URLS) {
            assertThrows(IllegalArgumentException.class, () -> GatewayConfig.workerUrl(bad), bad);
        }
        assertEquals("http://127.0.0.1:30001", GatewayConfig.workerUrl("http://127.0.0.1:30001"));
        assertEquals("http://127.0.0.1:30001", GatewayConfig.workerUrl("http://127.0.0.1:30001/"));
        assertEquals("https://worker-1.example.com:443", GatewayConfig.workerUrl("HTTPS://Worker-1.Example.com:443"));
        assertEquals("http://[::1]:8", GatewayConfig.workerUrl("http://[::1]:8"));
        assertEquals("http://h:65535", GatewayConfig.workerUrl("http://h:65535"));
    }

    @Test
    void theSameRuleGuardsFlagsAndRegistrations() {
        ConfigException flag = assertThrows(ConfigException.class, () -> GatewayConfig.from(Args.parse(
                new String[] {"--decode", "http://u:p@127.0.0.1:1"}, Set.of())));
        assertTrue(flag.getMessage().contains("--decode"), flag.getMessage());
        assertThrows(ConfigException.class, () -> GatewayConfig.from(Args.parse(new String[] {"--prefill",
                "http://127.0.0.1:1", "--prefill-bootstrap-ports", "70000"}, Set.of())));
        for (String bad : BAD_URLS) {
            ApiException e = assertThrows(ApiException.class, () -> RegisterRequest.parse(JSON.readTree(
                    new JsonObject().put("mode", "decode").put("registry_url", bad).encode())), bad);
            assertEquals("registry_url", e.param(), bad);
            assertTrue(e.getMessage().contains("registry_url"), e.getMessage());
        }
        ApiException huge = assertThrows(ApiException.class, () -> RegisterRequest.parse(JSON.readTree(
                new JsonObject().put("mode", "decode").put("registry_url", "http://" + "h".repeat(100_000) + ":1")
                        .encode())));
        assertTrue(huge.getMessage().length() < 400, "the value is echoed bounded: " + huge.getMessage().length());
        ApiException port = assertThrows(ApiException.class, () -> RegisterRequest.parse(JSON.readTree(
                "{\"mode\": \"prefill\", \"registry_url\": \"http://h:1\", \"bootstrap_port\": 4294967297}")));
        assertEquals("bootstrap_port", port.param(), "2^32 + 1 is not port 1");
    }

    @Test
    void configValidatesTheNewFlags() {
        GatewayConfig d = GatewayConfig.from(Args.parse(new String[] {"--api-key", "k"}, Set.of()));
        assertEquals(300, d.registryTtlS());
        assertEquals("k", d.workerKeys().apiKey(), "workers get the gateway's key by default");
        assertEquals("k", d.workerKeys().adminApiKey(), "and it serves as their admin key without an admin key");
        GatewayConfig both = GatewayConfig.from(Args.parse(new String[] {"--api-key", "k", "--admin-api-key", "a",
                "--worker-api-key", "w", "--health-interval", "1", "--registry-ttl", "2.5"}, Set.of()));
        assertEquals("w", both.workerKeys().apiKey());
        assertEquals("a", both.workerKeys().adminApiKey());
        assertEquals(2.5, both.registryTtlS());
        assertTrue(!both.workerKeys().toString().contains("w,") && both.workerKeys().toString().contains("set"));
        ConfigException ttl = assertThrows(ConfigException.class, () -> GatewayConfig.from(Args.parse(
                new String[] {"--registry-ttl", "0.01"}, Set.of())));
        assertTrue(ttl.getMessage().contains("--registry-ttl"), ttl.getMessage());
        ConfigException key = assertThrows(ConfigException.class, () -> GatewayConfig.from(Args.parse(
                new String[] {"--worker-api-key", "has space"}, Set.of())));
        assertTrue(key.getMessage().contains("worker_api_key") && !key.getMessage().contains("has space"),
                key.getMessage());
        assertThrows(ConfigException.class, () -> GatewayConfig.from(java.util.Map.of("registry_ttl", "x"),
                Args.parse(new String[0], Set.of())));
    }

    @Test
    void serverInfoKeepsOnlyKnownFieldsOfTheirTypes() {
        JsonObject hostile = new JsonObject().put("disaggregation_mode", "decode").put("port", "8000; rm -rf")
                .put("model_path", "m\u001b[31m\u202e" + "x".repeat(2000)).put("page_size", 16)
                .put("max_total_num_tokens", 1.5).put("aws_secret_access_key", "AKIA...")
                .put("internal_states", new JsonArray().add(new JsonObject().put("num_running_reqs", 2)
                        .put("last_gen_throughput", 3.5).put("avg_spec_accept_length", (Object) null)
                        .put("token", "sk-secret").put("num_waiting_reqs", new JsonObject().put("a", 1)))
                        .add("not an object").add(7))
                .put("context_length", new java.math.BigInteger("99999999999999999999999"));
        JsonObject s = WorkerShapes.serverInfo(hostile);
        assertEquals(Set.of("disaggregation_mode", "model_path", "page_size", "internal_states"), s.fieldNames());
        assertEquals(16L, s.getLong("page_size"));
        assertEquals(WorkerShapes.MAX_STRING + 1, s.getString("model_path").length(), "bounded, with an ellipsis");
        assertTrue(s.getString("model_path").startsWith("m [31m x"), "control and format characters blanked");
        assertEquals(new JsonArray().add(new JsonObject().put("num_running_reqs", 2L).put("last_gen_throughput", 3.5)
                .putNull("avg_spec_accept_length")), s.getJsonArray("internal_states"));

        JsonObject models = WorkerShapes.models(new JsonObject().put("object", "evil").put("extra", 1)
                .put("data", new JsonArray().add(new JsonObject().put("id", "m").put("object", "virus")
                        .put("owned_by", "x").put("script", "<script>")).add(new JsonObject().put("id", 5))));
        assertEquals(new JsonObject().put("object", "list").put("data", new JsonArray().add(new JsonObject()
                .put("id", "m").put("object", "model").put("owned_by", "x"))), models);
        assertEquals(new JsonObject().put("model_path", "p").put("is_generation", true), WorkerShapes.modelInfo(
                new JsonObject().put("model_path", "p").put("is_generation", true).put("env", new JsonObject())));
    }

    @Test
    void errorMessagesAreFoundInEveryShapeAndBounded() {
        assertEquals("bad", WorkerShapes.errorMessage(Buffer.buffer("{\"error\": {\"message\": \"bad\"}}")));
        assertEquals("bad", WorkerShapes.errorMessage(Buffer.buffer("{\"object\": \"error\", \"message\": \"bad\"}")));
        assertEquals("bad", WorkerShapes.errorMessage(Buffer.buffer("{\"detail\": \"bad\"}")));
        assertEquals("Cache not flushed.", WorkerShapes.errorMessage(Buffer.buffer("Cache not flushed.\n")));
        assertEquals("(no message)", WorkerShapes.errorMessage(Buffer.buffer("{\"error\": 5}")));
        assertEquals("a b", WorkerShapes.errorMessage(Buffer.buffer("a\u0000b")));
        assertEquals(WorkerShapes.MAX_MESSAGE + 1, WorkerShapes.errorMessage(Buffer.buffer("y".repeat(100_000)))
                .length());
        assertEquals("messages", WorkerShapes.errorParam(Buffer.buffer("{\"message\": \"m\", \"param\": \"messages\"}")));
        assertEquals(null, WorkerShapes.errorParam(Buffer.buffer("{\"param\": \"<b>x</b>\"}")));
    }

    @Test
    void batchTimesNIsCappedNamingTheField() throws Exception {
        assertEquals("text", cap("/generate", "{\"text\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 4));
        assertEquals("input_ids", cap("/generate", "{\"input_ids\": [[1], [2], [3], [4], [5]]}", 4));
        assertEquals("sampling_params.n", cap("/generate", "{\"text\": [\"a\", \"b\"], \"sampling_params\": {\"n\": 3}}",
                4));
        assertEquals("text", cap("/generate", "{\"text\": [\"a\", \"b\"], \"sampling_params\": [{\"n\": 4}, {\"n\": 1}]}",
                4));
        assertEquals("sampling_params.n", cap("/generate", "{\"text\": \"a\", \"sampling_params\": {\"n\": 1e300}}", 4));
        assertEquals("n", cap("/v1/completions", "{\"prompt\": [\"a\", \"b\", \"c\"], \"n\": 2}", 4));
        assertEquals("prompt", cap("/v1/completions", "{\"prompt\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 4));
        assertEquals("n", cap("/v1/chat/completions", "{\"messages\": [], \"n\": 5}", 4));
        for (String ok : List.of("{\"text\": [\"a\", \"b\", \"c\", \"d\"]}", "{\"input_ids\": [1, 2, 3, 4, 5, 6]}",
                "{\"text\": \"a\", \"sampling_params\": {\"n\": 4}}", "{\"text\": \"a\", \"sampling_params\": {\"n\": \"x\"}}")) {
            BatchCap.check("/generate", JSON.readTree(ok), 4);
        }
        BatchCap.check("/v1/completions", JSON.readTree("{\"prompt\": [1, 2, 3, 4, 5, 6, 7], \"n\": 4}"), 4);
    }

    private static String cap(String path, String body, int max) throws Exception {
        ApiException e = assertThrows(ApiException.class, () -> BatchCap.check(path, JSON.readTree(body), max), body);
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("max_batch_items = " + max), e.getMessage());
        return e.param();
    }
}
