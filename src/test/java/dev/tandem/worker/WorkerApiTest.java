package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.TestModels;
import dev.tandem.engine.Generator;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.tandem.config.ComputeBackendKind.VECTOR;
import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker's SGLang-native endpoints over real HTTP on loopback. */
class WorkerApiTest {
    private static Vertx vertx;
    private static WorkerFixture w;

    @BeforeAll
    static void start() {
        // Our own Vert.x with metrics on, as ./run.sh worker builds it, so /metrics shows HTTP meters too.
        vertx = dev.tandem.metrics.MetricsSetup.vertx();
        w = new WorkerFixture(vertx, "--chunked-prefill-size", "64", "--max-total-tokens", "8192");
    }

    @AfterAll
    static void stop() {
        w.close();
        vertx.close().await();
    }

    /** Greedy ids straight from the engine, the reference for what the server must return. */
    static List<Integer> reference(int[] prompt, int n) {
        try (ComputeBackend b = ComputeBackends.create(VECTOR, 2);
             Model m = Model.load(TestModels.tiny(), b, s -> { });
             PagedKvCache kv = m.newKvCache(16, 4096, 1, 2048)) {
            SamplingParams p = new SamplingParams(n, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), true, 0);
            int[] out = new Generator(m.transformer(), kv).generate(new Generator.Request(prompt, p, -1, 0),
                    m.config().eosTokenIds(), t -> { }).outputIds();
            List<Integer> l = new ArrayList<>();
            for (int id : out) {
                l.add(id);
            }
            return l;
        }
    }

    @Test
    void generateReturnsTheEnginesTokensInSglangsShape() {
        JsonNode r = w.generate("""
                {"input_ids": [508, 72, 101, 108, 108, 111, 44, 32], "rid": "r-1",
                 "sampling_params": {"max_new_tokens": 12, "temperature": 0, "ignore_eos": true}}""");
        assertEquals(reference(new int[] {508, 72, 101, 108, 108, 111, 44, 32}, 12), ids(r.get("output_ids")));
        JsonNode meta = r.get("meta_info");
        assertEquals("r-1", meta.get("id").asText());
        assertEquals("{\"type\":\"length\",\"length\":12}", meta.get("finish_reason").toString());
        assertEquals(8, meta.get("prompt_tokens").asInt());
        assertEquals(12, meta.get("completion_tokens").asInt());
        assertEquals(0, meta.get("cached_tokens").asInt());
        assertTrue(meta.get("e2e_latency").asDouble() > 0);
        assertTrue(r.get("text").isTextual());
        assertFalse(meta.has("input_token_logprobs"), "logprobs only when asked");
    }

    @Test
    void textBatchAnswersWithAListInOrder() {
        JsonNode r = w.generate("""
                {"text": ["Hello, world!", "The model is a stack"],
                 "sampling_params": [{"max_new_tokens": 3, "temperature": 0, "ignore_eos": true},
                                     {"max_new_tokens": 5, "temperature": 0, "ignore_eos": true}]}""");
        assertTrue(r.isArray());
        assertEquals(2, r.size());
        assertEquals(3, r.get(0).get("output_ids").size());
        assertEquals(5, r.get(1).get("output_ids").size());
        JsonNode single = w.generate("""
                {"text": "The model is a stack", "sampling_params": {"max_new_tokens": 5, "temperature": 0,
                 "ignore_eos": true}}""");
        assertEquals(single.get("output_ids"), r.get(1).get("output_ids"));
        assertEquals(single.get("text"), r.get(1).get("text"));
    }

    @Test
    void streamingSendsCumulativeTextNewIdsAndDone() {
        String body = """
                {"input_ids": [508, 84, 104, 101], "stream": true,
                 "sampling_params": {"max_new_tokens": 10, "temperature": 0, "ignore_eos": true}}""";
        WorkerFixture.Reply r = w.post("/generate", body);
        assertEquals(200, r.status());
        List<String> events = r.events();
        assertEquals("[DONE]", events.get(events.size() - 1));
        List<Integer> streamed = new ArrayList<>();
        String lastText = "";
        int lastCount = 0;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = parse(e);
            streamed.addAll(ids(c.get("output_ids")));
            assertTrue(c.get("text").asText().startsWith(lastText), "text is cumulative");
            lastText = c.get("text").asText();
            int count = c.get("meta_info").get("completion_tokens").asInt();
            assertEquals(streamed.size(), count, "completion_tokens is cumulative");
            lastCount = count;
        }
        JsonNode whole = w.generate(body.replace("\"stream\": true", "\"stream\": false"));
        assertEquals(ids(whole.get("output_ids")), streamed);
        assertEquals(whole.get("text").asText(), lastText);
        assertEquals(10, lastCount);
        assertEquals("length", parse(events.get(events.size() - 2)).get("meta_info").get("finish_reason")
                .get("type").asText());
    }

    private static JsonNode parse(String s) {
        try {
            return WorkerFixture.JSON.readTree(s);
        } catch (java.io.IOException e) {
            throw new AssertionError(s, e);
        }
    }

    @Test
    void logprobsComeAsTriplesWithInputLogprobsFromTheStartPosition() {
        JsonNode r = w.generate("""
                {"input_ids": [508, 72, 101, 108, 108], "return_logprob": true, "logprob_start_len": 0,
                 "top_logprobs_num": 3, "return_text_in_logprobs": true,
                 "sampling_params": {"max_new_tokens": 4, "temperature": 0, "ignore_eos": true}}""");
        JsonNode meta = r.get("meta_info");
        JsonNode in = meta.get("input_token_logprobs");
        assertEquals(5, in.size());
        assertTrue(in.get(0).get(0).isNull(), "nothing predicts the first prompt token");
        assertEquals(508, in.get(0).get(1).asInt());
        assertEquals(72, in.get(1).get(1).asInt());
        assertTrue(in.get(1).get(0).asDouble() < 0);
        assertEquals(5, meta.get("input_top_logprobs").size());
        assertTrue(meta.get("input_top_logprobs").get(0).isNull());
        JsonNode out = meta.get("output_token_logprobs");
        assertEquals(4, out.size());
        for (int i = 0; i < 4; i++) {
            JsonNode top = meta.get("output_top_logprobs").get(i);
            assertEquals(3, top.size());
            // Greedy: the chosen token is the most likely one.
            assertEquals(top.get(0).get(1).asInt(), out.get(i).get(1).asInt());
            assertEquals(top.get(0).get(0).asDouble(), out.get(i).get(0).asDouble(), 0);
            assertTrue(out.get(i).get(2).isTextual(), "text in logprobs when asked");
        }
        assertEquals(ids(r.get("output_ids")), List.of(out.get(0).get(1).asInt(), out.get(1).get(1).asInt(),
                out.get(2).get(1).asInt(), out.get(3).get(1).asInt()));
        JsonNode from3 = w.generate("""
                {"input_ids": [508, 72, 101, 108, 108], "return_logprob": true, "logprob_start_len": 3,
                 "sampling_params": {"max_new_tokens": 1, "temperature": 0}}""");
        JsonNode in3 = from3.get("meta_info").get("input_token_logprobs");
        assertEquals(2, in3.size());
        assertEquals(in.get(3).get(0).asDouble(), in3.get(0).get(0).asDouble(), 1e-6);
    }

    @Test
    void stopTokenIdsAndStopStringsEndGenerationAndTrimTheText() {
        JsonNode full = w.generate("""
                {"input_ids": [508, 87, 104, 97, 116], "sampling_params": {"max_new_tokens": 16, "temperature": 0,
                 "ignore_eos": true}}""");
        List<Integer> out = ids(full.get("output_ids"));
        int stopId = out.get(3);
        JsonNode stopped = w.generate("""
                {"input_ids": [508, 87, 104, 97, 116], "sampling_params": {"max_new_tokens": 16, "temperature": 0,
                 "ignore_eos": true, "stop_token_ids": [%d]}}""".formatted(stopId));
        int firstAt = out.indexOf(stopId);
        assertEquals(out.subList(0, firstAt + 1), ids(stopped.get("output_ids")));
        assertEquals("{\"type\":\"stop\",\"matched\":" + stopId + "}",
                stopped.get("meta_info").get("finish_reason").toString());

        String text = full.get("text").asText();
        assertTrue(text.length() >= 4, "need some text, got '" + text + "'");
        String stop = text.substring(2, 4);
        JsonNode byString = w.generate("""
                {"input_ids": [508, 87, 104, 97, 116], "sampling_params": {"max_new_tokens": 16, "temperature": 0,
                 "ignore_eos": true, "stop": ["%s"]}}""".formatted(stop.replace("\"", "\\\"")));
        assertEquals(text.substring(0, text.indexOf(stop)), byString.get("text").asText());
        assertEquals("stop", byString.get("meta_info").get("finish_reason").get("type").asText());
        assertEquals(stop, byString.get("meta_info").get("finish_reason").get("matched").asText());
    }

    @Test
    void badInputGetsA400NamingTheFieldAndTheServerStaysHealthy() {
        assertError(w.post("/generate", "{not json"), "not valid JSON");
        assertError(w.post("/generate", "{}"), "Either text or input_ids");
        assertError(w.post("/generate", "{\"text\": \"\"}"), "text");
        assertError(w.post("/generate", "{\"input_ids\": []}"), "input_ids");
        assertError(w.post("/generate", "{\"input_ids\": [1, 99999]}"), "outside the vocabulary");
        assertError(w.post("/generate", "{\"text\": \"hi\", \"sampling_params\": {\"max_new_tokens\": -5}}"),
                "max_new_tokens");
        assertError(w.post("/generate", "{\"text\": \"hi\", \"sampling_params\": {\"max_new_tokens\": 99999999}}"),
                "context length");
        assertError(w.post("/generate", "{\"text\": \"hi\", \"sampling_params\": {\"temperature\": -1}}"),
                "temperature");
        assertError(w.post("/generate", "{\"text\": \"hi\", \"sampling_params\": {\"top_p\": 1.5}}"), "top_p");
        assertError(w.post("/generate", "{\"text\": \"hi\", \"sampling_params\": {\"max_new_tokens\": \"ten\"}}"),
                "max_new_tokens");
        assertError(w.post("/generate", "{\"text\": \"hi\", \"sampling_params\": {\"tempreature\": 1}}"),
                "tempreature");
        assertError(w.post("/generate", "{\"input_ids\": " + longPrompt(3000) + "}"), "context length");
        assertEquals(200, w.get("/health_generate").status());
        assertEquals(200, w.get("/health").status());
    }

    private static String longPrompt(int n) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ",").append(65 + i % 20);
        }
        return sb.append("]").toString();
    }

    private static void assertError(WorkerFixture.Reply r, String mentions) {
        assertEquals(400, r.status(), r.body());
        String msg = r.json().get("error").get("message").asText();
        assertTrue(msg.contains(mentions), "'" + msg + "' should mention " + mentions);
    }

    @Test
    void infoEndpoints() {
        assertEquals(200, w.get("/health").status());
        assertEquals(200, w.get("/health_generate").status());
        JsonNode info = w.get("/get_model_info").json();
        assertEquals(TestModels.tiny().toString(), info.get("model_path").asText());
        assertTrue(info.get("is_generation").asBoolean());
        JsonNode server = w.get("/get_server_info").json();
        assertEquals("null", server.get("disaggregation_mode").asText());
        assertEquals(64, server.get("chunked_prefill_size").asInt());
        assertEquals(8192, server.get("max_total_num_tokens").asInt());
        assertNotNull(server.get("internal_states").get(0).get("num_running_reqs"));
        assertEquals(0, w.get("/get_load").json().get("load").asInt());
        assertEquals(200, w.post("/flush_cache", "").status());
        JsonNode models = w.get("/v1/models").json();
        assertEquals("list", models.get("object").asText());
        assertEquals("tiny-bf16", models.get("data").get(0).get("id").asText());
        w.generate("{\"text\": \"metrics please\", \"sampling_params\": {\"max_new_tokens\": 2}}");
        String metrics = w.get("/metrics").body();
        for (String name : List.of("tandem_num_running_reqs", "tandem_num_waiting_reqs", "tandem_kv_pages_used",
                "tandem_kv_pages_free", "tandem_generation_tokens_total", "tandem_prompt_tokens_total",
                "tandem_time_to_first_token_seconds_bucket", "tandem_inter_token_latency_seconds_bucket",
                "tandem_e2e_request_latency_seconds_bucket", "vertx_http_server_requests_total")) {
            assertTrue(metrics.contains(name), "metrics lack " + name);
        }
    }

    @Test
    void abortRequestEndsARunningGenerationAndFreesItsPages() throws Exception {
        // The stats are published after each round: right after another test's answer they may still show its
        // request running. Once they show nothing running, a running request is this one; abort it only then (an
        // abort that reaches the scheduler before the request ends nothing).
        w.awaitState("nothing running before the request to abort",
                st -> st.get("num_running_reqs").asInt() == 0 && st.get("num_waiting_reqs").asInt() == 0);
        var pending = w.client.post("/generate").sendBuffer(io.vertx.core.buffer.Buffer.buffer("""
                {"input_ids": [508, 65, 66], "rid": "to-abort",
                 "sampling_params": {"max_new_tokens": 1900, "temperature": 0, "ignore_eos": true}}"""));
        w.awaitState("the request to abort running", st -> st.get("num_running_reqs").asInt() > 0);
        assertEquals(200, w.post("/abort_request", "{\"rid\": \"to-abort\"}").status());
        var resp = pending.await();
        assertEquals(200, resp.statusCode());
        JsonNode r = WorkerFixture.JSON.readTree(resp.bodyAsString());
        assertEquals("abort", r.get("meta_info").get("finish_reason").get("type").asText());
        assertTrue(r.get("output_ids").size() < 1900);
        w.awaitIdle();
        assertEquals(0, w.kvPagesUsed());
        assertError(w.post("/abort_request", "{}"), "rid");
    }
}
