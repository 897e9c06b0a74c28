package dev.tandem.chaos;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The soak's fixed prompt set (from one token to several pages, so single-page, multi-page and chunked prefills all
 * occur) and their reference outputs, computed greedily by the colocated worker before any fault. Greedy decoding of
 * the same model is deterministic, so every answer with tokens must equal its reference exactly.
 */
final class Prompts {
    static final int COUNT = 24;
    static final int MAX_NEW_TOKENS = 8;
    private final List<String> bodies = new ArrayList<>();
    private final List<List<Integer>> reference = new ArrayList<>();

    Prompts() {
        for (int i = 0; i < COUNT; i++) {
            StringBuilder ids = new StringBuilder("508");
            for (int j = 1; j < 1 + i * 11; j++) {
                ids.append(',').append((j * 13 + i * 7) % 500);
            }
            bodies.add("{\"input_ids\": [" + ids + "], \"sampling_params\": {\"max_new_tokens\": " + MAX_NEW_TOKENS
                    + ", \"temperature\": 0, \"ignore_eos\": true}}");
        }
    }

    void computeReference(Http http, String workerUrl) {
        for (String b : bodies) {
            Http.Reply r = http.post(workerUrl + "/generate", b, Duration.ofSeconds(60));
            List<Integer> ids = r.status() == 200 ? outputIds(r.body()) : null;
            if (ids == null || ids.size() != MAX_NEW_TOKENS) {
                throw new IllegalStateException("the reference worker did not answer: " + r);
            }
            reference.add(ids);
        }
    }

    int size() {
        return bodies.size();
    }

    String body(int i) {
        return bodies.get(i);
    }

    List<Integer> reference(int i) {
        return reference.get(i);
    }

    /** {@code output_ids} of a /generate answer, or null when it has none. */
    static List<Integer> outputIds(String body) {
        try {
            JsonNode ids = Http.JSON.readTree(body).get("output_ids");
            if (ids == null || !ids.isArray()) {
                return null;
            }
            List<Integer> out = new ArrayList<>();
            ids.forEach(n -> out.add(n.asInt()));
            return out;
        } catch (java.io.IOException e) {
            return null;
        }
    }
}
