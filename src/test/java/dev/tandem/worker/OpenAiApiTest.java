package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.TestModels;
import dev.tandem.tokenizer.ChatTemplate;
import dev.tandem.tokenizer.TextTokenizer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAI routes over real HTTP, driven through VertxExtension. */
@ExtendWith(VertxExtension.class)
class OpenAiApiTest {
    private static WorkerFixture w;

    @BeforeAll
    static void start(Vertx vertx) {
        w = new WorkerFixture(vertx);
    }

    @AfterAll
    static void stop() {
        w.close();
    }

    @Test
    void completionsMatchGenerateAndHaveOpenAiShape(VertxTestContext ctx) {
        JsonNode gen = w.generate("""
                {"text": "Hello, world!", "sampling_params": {"max_new_tokens": 6, "temperature": 0,
                 "ignore_eos": true}}""");
        w.client.post("/v1/completions").sendBuffer(Buffer.buffer("""
                {"model": "tiny-bf16", "prompt": "Hello, world!", "max_tokens": 6, "temperature": 0,
                 "n": 2, "logprobs": 2, "ignore_eos": true}""")).onComplete(ctx.succeeding(resp -> ctx.verify(() -> {
            assertEquals(200, resp.statusCode());
            JsonNode r = WorkerFixture.JSON.readTree(resp.bodyAsString());
            assertEquals("text_completion", r.get("object").asText());
            assertTrue(r.get("id").asText().startsWith("cmpl-"));
            assertEquals("tiny-bf16", r.get("model").asText());
            assertEquals(2, r.get("choices").size());
            for (int i = 0; i < 2; i++) {
                JsonNode c = r.get("choices").get(i);
                assertEquals(i, c.get("index").asInt());
                assertEquals(gen.get("text").asText(), c.get("text").asText());
                assertEquals("length", c.get("finish_reason").asText());
                assertEquals(6, c.get("logprobs").get("tokens").size());
                assertEquals(6, c.get("logprobs").get("token_logprobs").size());
                assertTrue(c.get("logprobs").get("top_logprobs").get(0).size() >= 1);
            }
            JsonNode usage = r.get("usage");
            assertEquals(gen.get("meta_info").get("prompt_tokens").asInt(), usage.get("prompt_tokens").asInt());
            assertEquals(12, usage.get("completion_tokens").asInt());
            assertEquals(usage.get("prompt_tokens").asInt() + 12, usage.get("total_tokens").asInt());
            ctx.completeNow();
        })));
    }

    @Test
    void chatUsesTheModelsTemplateAndStreamsDeltas(VertxTestContext ctx) throws Exception {
        String prompt;
        try (TextTokenizer tok = TextTokenizer.load(TestModels.tiny())) {
            prompt = tok.chatTemplate().render(List.of(new ChatTemplate.Message("system", "Be brief."),
                    new ChatTemplate.Message("user", "Hi there")), true);
        }
        JsonNode gen = w.generate(WorkerFixture.JSON.createObjectNode().put("text", prompt)
                .set("sampling_params", WorkerFixture.JSON.readTree(
                        "{\"max_new_tokens\": 7, \"temperature\": 0, \"ignore_eos\": true}")).toString());
        String body = """
                {"model": "tiny-bf16", "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": [{"type": "text", "text": "Hi there"}]}],
                 "max_tokens": 7, "temperature": 0, "ignore_eos": true, "logprobs": true, "top_logprobs": 2%s}""";
        JsonNode whole = w.post("/v1/chat/completions", body.formatted("")).json();
        assertEquals("chat.completion", whole.get("object").asText());
        JsonNode choice = whole.get("choices").get(0);
        assertEquals("assistant", choice.get("message").get("role").asText());
        assertEquals(gen.get("text").asText(), choice.get("message").get("content").asText());
        assertEquals(7, choice.get("logprobs").get("content").size());
        assertEquals(2, choice.get("logprobs").get("content").get(0).get("top_logprobs").size());
        assertEquals(gen.get("meta_info").get("prompt_tokens").asInt(),
                whole.get("usage").get("prompt_tokens").asInt());

        w.client.post("/v1/chat/completions").sendBuffer(Buffer.buffer(body.formatted(
                ", \"stream\": true, \"stream_options\": {\"include_usage\": true}")))
                .onComplete(ctx.succeeding(resp -> ctx.verify(() -> {
                    WorkerFixture.Reply r = new WorkerFixture.Reply(resp.statusCode(), resp.bodyAsString());
                    List<String> events = r.events();
                    assertEquals("[DONE]", events.get(events.size() - 1));
                    JsonNode first = WorkerFixture.JSON.readTree(events.get(0));
                    assertEquals("chat.completion.chunk", first.get("object").asText());
                    assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
                    StringBuilder text = new StringBuilder();
                    String finish = null;
                    for (String e : events.subList(0, events.size() - 2)) {
                        JsonNode c = WorkerFixture.JSON.readTree(e).get("choices").get(0);
                        text.append(c.get("delta").path("content").asText(""));
                        if (!c.get("finish_reason").isNull()) {
                            finish = c.get("finish_reason").asText();
                        }
                    }
                    assertEquals(gen.get("text").asText(), text.toString());
                    assertEquals("length", finish);
                    JsonNode usage = WorkerFixture.JSON.readTree(events.get(events.size() - 2));
                    assertEquals(0, usage.get("choices").size());
                    assertEquals(7, usage.get("usage").get("completion_tokens").asInt());
                    ctx.completeNow();
                })));
    }

    @Test
    void completionsStreamEndsWithDone() throws Exception {
        WorkerFixture.Reply r = w.post("/v1/completions", """
                {"prompt": [508, 72, 101], "max_tokens": 5, "temperature": 0, "stream": true, "ignore_eos": true}""");
        List<String> events = r.events();
        assertEquals("[DONE]", events.get(events.size() - 1));
        StringBuilder text = new StringBuilder();
        for (String e : events.subList(0, events.size() - 1)) {
            text.append(WorkerFixture.JSON.readTree(e).get("choices").get(0).get("text").asText());
        }
        JsonNode gen = w.generate("""
                {"input_ids": [508, 72, 101], "sampling_params": {"max_new_tokens": 5, "temperature": 0,
                 "ignore_eos": true}}""");
        assertEquals(gen.get("text").asText(), text.toString());
    }

    @Test
    void errorsUseOpenAisShape() {
        WorkerFixture.Reply r = w.post("/v1/completions", "{\"prompt\": \"x\", \"temperature\": 3}");
        assertEquals(400, r.status());
        JsonNode e = r.json();
        assertEquals("error", e.get("object").asText());
        assertEquals("BadRequestError", e.get("type").asText());
        assertEquals(400, e.get("code").asInt());
        assertTrue(e.get("message").asText().contains("temperature"), e.get("message").asText());
        assertEquals("temperature", e.get("param").asText());
        assertEquals(400, w.post("/v1/chat/completions", "{\"messages\": []}").status());
        assertEquals(400, w.post("/v1/chat/completions",
                "{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}").status());
        assertEquals(400, w.post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": -1}").status());
        WorkerFixture.Reply tooLong = w.post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 100000}");
        assertEquals(400, tooLong.status());
        assertTrue(tooLong.json().get("message").asText().contains("context length"));
        assertEquals(400, w.post("/v1/completions", "not json").status());
        assertEquals(200, w.get("/health_generate").status());
    }
}
