package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.StructuredCases;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Structured outputs on a colocated worker with the random-weight tiny model: whatever it samples under a
 * constraint (temperature 1) parses and validates; refusals name the field and the keyword.
 */
@ExtendWith(VertxExtension.class)
class StructuredOutputTest {
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
    void thirtySampledOutputsOfEachConstraintAllValidate() throws Exception {
        for (StructuredCases.Case c : StructuredCases.all()) {
            JsonNode out = w.generate("{\"text\": \"Answer:\", \"sampling_params\": {\"temperature\": 1, \"n\": 30,"
                    + " \"max_new_tokens\": 200, \"" + c.field() + "\": " + c.quoted() + "}}");
            assertEquals(30, out.size());
            java.util.Set<String> distinct = new java.util.HashSet<>();
            for (JsonNode o : out) {
                String text = o.get("text").asText();
                assertEquals("stop", o.get("meta_info").get("finish_reason").get("type").asText(), c.name() + ": " + o);
                assertTrue(c.valid().test(text), c.name() + ": " + text);
                distinct.add(text);
            }
            assertTrue(distinct.size() > 5, c.name() + ": sampled outputs should differ: " + distinct);
            if (c.name().equals("recursive-ebnf")) {
                assertTrue(distinct.stream().anyMatch(t -> t.contains("(")), "some output nests: " + distinct);
            }
        }
        w.awaitIdle();
        assertEquals(0, w.kvPagesUsed());
    }

    @Test
    void responseFormatOnChatCompletions() throws Exception {
        var r = w.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"max_tokens\": 300, \"n\": 5, \"response_format\": {\"type\": \"json_schema\", \"json_schema\":"
                + " {\"name\": \"p\", \"strict\": true, \"schema\": " + StructuredCases.PATTERN + "}}}");
        assertEquals(200, r.status(), r.body());
        for (JsonNode ch : r.json().get("choices")) {
            assertEquals("stop", ch.get("finish_reason").asText(), ch.toString());
            assertTrue(StructuredCases.all().get(2).valid().test(ch.get("message").get("content").asText()));
        }
        var obj = w.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"max_tokens\": 400, \"temperature\": 0, \"response_format\": {\"type\": \"json_object\"}}");
        assertEquals(200, obj.status(), obj.body());
        JsonNode choice = obj.json().get("choices").get(0);
        if (choice.get("finish_reason").asText().equals("stop")) {
            assertTrue(WorkerFixture.JSON.readTree(choice.get("message").get("content").asText()).isObject());
        } else {
            assertTrue(choice.get("message").get("content").asText().startsWith("{"), choice.toString());
        }
    }

    @Test
    void unsupportedConstraintsAreA400NamingTheFieldAndKeyword() {
        String[][] cases = {
                {"/generate", "{\"text\": \"a\", \"sampling_params\": {\"json_schema\": \"{\\\"type\\\": \\\"integer\\\","
                        + " \\\"minimum\\\": 1}\"}}", "sampling_params.json_schema", "'minimum'"},
                {"/generate", "{\"text\": \"a\", \"sampling_params\": {\"regex\": \"(a)\\\\1\"}}",
                        "sampling_params.regex", "backreferences"},
                {"/generate", "{\"text\": \"a\", \"sampling_params\": {\"ebnf\": \"root ::= \\\"(\\\" root \\\")\\\"\"}}",
                        "sampling_params.ebnf", "matches no output at all"},
                {"/generate", "{\"text\": \"a\", \"sampling_params\": {\"ebnf\": \"root ::= x\\nx ::= \\\"a\\\" x |"
                        + " \\\"a\\\" x \\\"b\\\" | \\\"\\\"\"}}", "sampling_params.ebnf",
                        "too ambiguous: more than 128 parse stacks"},
                {"/generate", "{\"text\": \"a\", \"sampling_params\": {\"ebnf\": \"root ::= root \\\"a\\\" | \\\"a\\\"\"}}",
                        "sampling_params.ebnf", "left-recursive"},
                {"/generate", "{\"text\": \"a\", \"sampling_params\": {\"regex\": \"a\", \"ebnf\": \"root ::= \\\"a\\\"\"}}",
                        "sampling_params.ebnf", "only one of"},
                {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
                        + " \"response_format\": {\"type\": \"grammar\"}}", "response_format.type", "json_schema"},
                {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
                        + " \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\","
                        + " \"schema\": {\"type\": \"string\", \"format\": \"date\"}}}}",
                        "response_format.json_schema.schema", "'format'"}};
        for (String[] c : cases) {
            var r = w.post(c[0], c[1]);
            assertEquals(400, r.status(), c[1] + " → " + r.body());
            assertTrue(r.body().contains(c[2]) && r.body().contains(c[3]), c[1] + " → " + r.body());
        }
        assertEquals(200, w.get("/health").status(), "the server stays up");
    }
}
