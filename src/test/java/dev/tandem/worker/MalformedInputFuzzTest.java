package dev.tandem.worker;

import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hundreds of bodies that are wrong by construction (truncated JSON, wrong types, out-of-range values, unknown
 * parameters, non-objects) against the three generation routes: every answer is a 4xx with a JSON body, nothing
 * leaks a page, and the worker still generates afterwards.
 */
@ExtendWith(VertxExtension.class)
class MalformedInputFuzzTest {
    private static final String VALID = "{\"text\": \"hello there\", \"sampling_params\": {\"max_new_tokens\": 4}}";
    private static final String[] BAD_SAMPLING = {
        "\"max_new_tokens\": -7", "\"max_new_tokens\": \"ten\"", "\"max_new_tokens\": 1.5",
        "\"max_new_tokens\": 99999999", "\"max_new_tokens\": 1e30", "\"temperature\": -0.1",
        "\"temperature\": \"hot\"", "\"top_p\": 0", "\"top_p\": 1.01", "\"top_p\": -3", "\"top_k\": 0",
        "\"top_k\": -4", "\"min_p\": 2", "\"repetition_penalty\": 0", "\"frequency_penalty\": 9",
        "\"presence_penalty\": -9", "\"stop\": 17", "\"stop\": [1, 2]", "\"stop_token_ids\": \"x\"",
        "\"ignore_eos\": \"no\"", "\"n\": 0", "\"n\": 100000", "\"regex\": \"(a\"", "\"regex\": 5",
        "\"json_schema\": \"{\\\"minimum\\\": 1}\"", "\"json_schema\": \"not json\"", "\"ebnf\": \"root ::= root\"",
        "\"min_new_tokens\": -1", "\"sampling_seed\": \"s\"",
    };
    private static final String[] BAD_TOP = {
        "\"text\": 123", "\"text\": true", "\"text\": {}", "\"text\": [1, 2]", "\"text\": \"\"", "\"text\": []",
        "\"input_ids\": \"abc\"", "\"input_ids\": [1.5]", "\"input_ids\": [-1]", "\"input_ids\": []",
        "\"input_ids\": [[]]", "\"input_ids\": [1, \"2\"]", "\"input_ids\": [999999]", "\"stream\": \"yes\"",
        "\"return_logprob\": 1", "\"rid\": 5", "\"rid\": \"\"", "\"top_logprobs_num\": -2",
        "\"logprob_start_len\": -5", "\"input_embeds\": [[0.1]]", "\"sampling_params\": 3",
        "\"sampling_params\": \"greedy\"",
    };

    /** Bodies wrong by construction for {@code /generate}. */
    static List<String> generateBodies(SplittableRandom r, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            switch (r.nextInt(5)) {
                case 0 -> out.add(VALID.substring(0, 1 + r.nextInt(VALID.length() - 2))); // truncated JSON
                case 1 -> out.add("{\"text\": \"hi\", \"sampling_params\": {"
                        + BAD_SAMPLING[r.nextInt(BAD_SAMPLING.length)] + "}}");
                case 2 -> {
                    String bad = BAD_TOP[r.nextInt(BAD_TOP.length)];
                    boolean replacesPrompt = bad.startsWith("\"text\"") || bad.startsWith("\"input_ids\"");
                    out.add("{" + bad + (replacesPrompt ? "" : ", \"text\": \"hi\"") + "}");
                }
                case 3 -> out.add(List.of("[]", "42", "\"text\"", "null", "true", "", "{}", "[{\"text\": \"hi\"}]",
                        "{\"text\": \"a\", \"input_ids\": [1]}").get(r.nextInt(9)));
                default -> {
                    StringBuilder junk = new StringBuilder("{");
                    for (int k = 0; k < 1 + r.nextInt(40); k++) {
                        junk.append((char) (32 + r.nextInt(95)));
                    }
                    out.add(junk.append(",").toString()); // a trailing comma: never valid JSON
                }
            }
        }
        return out;
    }

    static List<String> openAiBodies(SplittableRandom r, int n, boolean chat) {
        String[] bad = chat ? new String[] {
            "{}", "{\"messages\": []}", "{\"messages\": \"hi\"}", "{\"messages\": [{\"role\": \"x\", \"content\": \"a\"}]}",
            "{\"messages\": [{\"content\": \"a\"}]}", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"temperature\": 7}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"max_tokens\": -1}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"n\": 0}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"top_logprobs\": 99}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"max_tokens\": 10000000}",
        } : new String[] {
            "{}", "{\"prompt\": 5}", "{\"prompt\": []}", "{\"prompt\": [true]}", "{\"prompt\": \"a\", \"top_p\": 0}",
            "{\"prompt\": \"a\", \"temperature\": \"warm\"}", "{\"prompt\": \"a\", \"logprobs\": 50}",
            "{\"prompt\": \"a\", \"echo\": true}", "{\"prompt\": \"a\", \"stop\": {}}", "{\"prompt\": \"a\", \"n\": 500}",
            "{\"prompt\": [1, 99999]}", "{\"prompt\": \"a\", \"max_tokens\": 10000000}",
        };
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String b = bad[r.nextInt(bad.length)];
            out.add(r.nextInt(4) == 0 ? b.substring(0, b.length() - 1) : b); // sometimes also truncated
        }
        return out;
    }

    @Test
    void everyMalformedBodyGetsA4xxJsonAnswerAndNothingLeaks(Vertx vertx) throws Exception {
        try (WorkerFixture w = new WorkerFixture(vertx)) {
            SplittableRandom r = new SplittableRandom(2026);
            int checked = 0;
            for (String body : generateBodies(r, 200)) {
                check(w, "/generate", body);
                checked++;
            }
            for (String body : openAiBodies(r, 60, false)) {
                check(w, "/v1/completions", body);
                checked++;
            }
            for (String body : openAiBodies(r, 60, true)) {
                check(w, "/v1/chat/completions", body);
                checked++;
            }
            assertEquals(320, checked);
            assertEquals(200, w.get("/health").status());
            assertEquals(200, w.get("/health_generate").status());
            assertEquals(4, w.generate(VALID).get("output_ids").size());
            w.awaitIdle();
            assertEquals(0, w.kvPagesUsed(), "no page leaked");
        }
    }

    private static void check(WorkerFixture w, String path, String body) {
        WorkerFixture.Reply reply = w.post(path, body);
        assertTrue(reply.status() >= 400 && reply.status() < 500, path + " " + body + " -> " + reply.status()
                + " " + reply.body());
        assertTrue(reply.json().isObject(), "JSON error body for " + body);
    }
}
