package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.SchemaCheck;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chat tool calling on the random-weight tiny model: with tool_choice required or named the output is constrained to
 * a call, so whatever is sampled comes back as OpenAI tool_calls whose arguments match the function's schema, in the
 * qwen25 and llama3 formats, streamed or not.
 */
@ExtendWith(VertxExtension.class)
class ToolCallsTest {
    static final String TOOLS = """
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 8},
                             "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"]}}},
             {"type": "function", "function": {"name": "add",
              "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                             "required": ["a", "b"]}}}]""";
    private static WorkerFixture qwen;
    private static WorkerFixture llama;
    private static WorkerFixture plain;

    @BeforeAll
    static void start(Vertx vertx) {
        qwen = new WorkerFixture(vertx, "--tool-call-parser", "qwen25");
        llama = new WorkerFixture(vertx, "--tool-call-parser", "llama3");
        plain = new WorkerFixture(vertx);
    }

    @AfterAll
    static void stop() {
        qwen.close();
        llama.close();
        plain.close();
    }

    private static String chat(String toolChoice, boolean stream) {
        return "{\"messages\": [{\"role\": \"user\", \"content\": \"weather?\"}], \"max_tokens\": 300, \"n\": 8,"
                + " \"stream\": " + stream + ", \"tools\": " + TOOLS + ", \"tool_choice\": " + toolChoice + "}";
    }

    private static void checkCall(JsonNode call, Set<String> names) throws Exception {
        assertEquals("function", call.get("type").asText());
        assertTrue(call.get("id").asText().startsWith("call_"));
        String name = call.get("function").get("name").asText();
        assertTrue(names.contains(name), name);
        JsonNode args = WorkerFixture.JSON.readTree(call.get("function").get("arguments").asText());
        JsonNode tools = WorkerFixture.JSON.readTree(TOOLS);
        for (JsonNode t : tools) {
            if (t.get("function").get("name").asText().equals(name)) {
                assertEquals(java.util.List.of(), SchemaCheck.violations(t.get("function").get("parameters"), args));
            }
        }
    }

    @Test
    void requiredAndNamedToolChoicesAlwaysYieldValidCalls() throws Exception {
        for (WorkerFixture w : new WorkerFixture[] {qwen, llama}) {
            var r = w.post("/v1/chat/completions", chat("\"required\"", false));
            assertEquals(200, r.status(), r.body());
            for (JsonNode ch : r.json().get("choices")) {
                assertEquals("tool_calls", ch.get("finish_reason").asText(), ch.toString());
                assertTrue(ch.get("message").get("content").isNull(), ch.toString());
                assertEquals(1, ch.get("message").get("tool_calls").size());
                checkCall(ch.get("message").get("tool_calls").get(0), Set.of("get_weather", "add"));
            }
            var named = w.post("/v1/chat/completions",
                    chat("{\"type\": \"function\", \"function\": {\"name\": \"add\"}}", false));
            assertEquals(200, named.status(), named.body());
            for (JsonNode ch : named.json().get("choices")) {
                assertEquals("stop", ch.get("finish_reason").asText(), "OpenAI: a named choice finishes with stop");
                checkCall(ch.get("message").get("tool_calls").get(0), Set.of("add"));
            }
        }
    }

    /**
     * The calls of a streamed response with {@code n} choices, each assembled from its deltas, after checking that
     * every choice's stream is well formed: one first delta per call (index 0, an id, the name, empty arguments),
     * then non-empty argument fragments without a name, nothing after the choice's finish (tool_calls), [DONE] last.
     */
    private static Map<Integer, ObjectNode> streamedCalls(WorkerFixture.Reply r, int n) throws Exception {
        assertEquals(200, r.status(), r.body());
        Map<Integer, ObjectNode> calls = new HashMap<>();
        Map<Integer, Integer> argPieces = new HashMap<>();
        Map<Integer, String> finish = new HashMap<>();
        for (String e : r.events()) {
            if (e.equals("[DONE]")) {
                continue;
            }
            JsonNode ch = WorkerFixture.JSON.readTree(e).get("choices").get(0);
            int choice = ch.get("index").asInt();
            assertFalse(finish.containsKey(choice), "nothing after a choice's finish: " + e);
            JsonNode tc = ch.get("delta").get("tool_calls");
            if (tc != null) {
                assertEquals(1, tc.size(), e);
                JsonNode d = tc.get(0);
                assertEquals(0, d.get("index").asInt(), "one call per choice");
                if (d.has("id")) {
                    assertFalse(calls.containsKey(choice), "one first delta per call: " + e);
                    assertEquals("", d.get("function").get("arguments").asText(), "OpenAI: empty at first");
                    calls.put(choice, ((ObjectNode) d).deepCopy());
                } else {
                    assertTrue(calls.containsKey(choice), "fragments follow the first delta: " + e);
                    assertFalse(d.get("function").has("name"), e);
                    String fragment = d.get("function").get("arguments").asText();
                    assertFalse(fragment.isEmpty(), "a fragment carries what the arguments grew by: " + e);
                    var f = (ObjectNode) calls.get(choice).get("function");
                    f.put("arguments", f.get("arguments").asText() + fragment);
                    argPieces.merge(choice, 1, Integer::sum);
                }
            }
            if (!ch.get("finish_reason").isNull()) {
                finish.put(choice, ch.get("finish_reason").asText());
            }
        }
        assertEquals(n, calls.size(), "one call per choice");
        for (int c = 0; c < n; c++) {
            assertEquals("tool_calls", finish.get(c));
            assertTrue(argPieces.getOrDefault(c, 0) >= 1, "arguments follow the first delta: " + argPieces);
        }
        assertEquals("[DONE]", r.events().getLast());
        return calls;
    }

    @Test
    void streamedToolCallsArriveTokenByToken() throws Exception {
        for (WorkerFixture w : new WorkerFixture[] {qwen, llama}) {
            // Sampled, 8 choices: each stream well formed, each assembled call valid for its function's schema.
            Map<Integer, ObjectNode> calls = streamedCalls(w.post("/v1/chat/completions", chat("\"required\"", true)),
                    8);
            for (int c = 0; c < 8; c++) {
                checkCall(calls.get(c), Set.of("get_weather", "add"));
            }
            // Greedy, one choice: the fragments put together are the call the whole-text answer gives (the same
            // name, the same arguments). How many fragments there are is not checked: tokens generated between
            // two writes of the stream go out together, so the count depends on scheduling (ToolCallStreamTest
            // shows the piece-by-piece split exactly, fed one token at a time).
            String greedy = "\"n\": 1, \"temperature\": 0";
            JsonNode streamed = streamedCalls(w.post("/v1/chat/completions",
                    chat("\"required\"", true).replace("\"n\": 8", greedy)), 1).get(0).get("function");
            var whole = w.post("/v1/chat/completions", chat("\"required\"", false).replace("\"n\": 8", greedy));
            assertEquals(200, whole.status(), whole.body());
            JsonNode call = whole.json().get("choices").get(0).get("message").get("tool_calls").get(0).get("function");
            assertEquals(call.get("name").asText(), streamed.get("name").asText());
            // the whole-text parser writes the arguments compactly; the stream sends the model's own text
            assertEquals(WorkerFixture.JSON.readTree(call.get("arguments").asText()),
                    WorkerFixture.JSON.readTree(streamed.get("arguments").asText()), streamed.toString());
        }
    }

    @Test
    void noneAndAutoLeaveTextThatIsNoCallAsContent() throws Exception {
        for (String choice : new String[] {"\"none\"", "\"auto\""}) {
            var r = qwen.post("/v1/chat/completions", chat(choice, false).replace("\"n\": 8", "\"n\": 1")
                    .replace("300", "20"));
            assertEquals(200, r.status(), r.body());
            JsonNode m = r.json().get("choices").get(0).get("message");
            if (m.get("tool_calls") == null) {
                assertTrue(m.get("content").isTextual());
            }
        }
    }

    @Test
    void toolsAreRefusedByNameWhereTheyCannotWork() {
        var r = plain.post("/v1/chat/completions", chat("\"required\"", false));
        assertEquals(400, r.status(), r.body());
        assertTrue(r.body().contains("--tool-call-parser"), r.body());
        for (String[] c : new String[][] {
                {chat("{\"type\": \"function\", \"function\": {\"name\": \"nope\"}}", false), "tool_choice.function.name"},
                {chat("\"sometimes\"", false), "tool_choice"},
                {chat("\"required\"", false).replace("\"maxLength\": 8", "\"minLength\": 1, \"format\": \"x\""),
                        "'format'"},
                {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tool_choice\": \"required\"}",
                        "needs tools"}}) {
            var bad = qwen.post("/v1/chat/completions", c[0]);
            assertEquals(400, bad.status(), bad.body());
            assertTrue(bad.body().contains(c[1]), bad.body());
        }
        assertFalse(qwen.get("/health").status() != 200);
    }
}
