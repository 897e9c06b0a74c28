package dev.tandem.chaos;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * How each request ended: tokens equal to the reference, tokens that differ (corruption: must never happen), an HTTP
 * error whose body says what went wrong (a clear error), or no usable answer at all (lost: no response, a cut
 * connection, an error without a message).
 */
final class Outcomes {
    final LongAdder sent = new LongAdder();
    final LongAdder answered = new LongAdder();
    final LongAdder mismatched = new LongAdder();
    final LongAdder clearErrors = new LongAdder();
    final LongAdder lost = new LongAdder();
    private final Map<String, Long> errorKinds = new TreeMap<>();
    private final List<String> lostExamples = new ArrayList<>();
    private final List<String> mismatchExamples = new ArrayList<>();

    void record(int prompt, Http.Reply r, List<Integer> expected) {
        sent.increment();
        if (r.error() != null) {
            lost(prompt + ": " + r.error());
            return;
        }
        if (r.status() == 200) {
            List<Integer> ids = Prompts.outputIds(r.body());
            if (ids == null) {
                lost(prompt + ": 200 without output_ids: " + abbreviate(r.body()));
            } else if (ids.equals(expected)) {
                answered.increment();
            } else {
                mismatched.increment();
                synchronized (this) {
                    if (mismatchExamples.size() < 10) {
                        mismatchExamples.add(prompt + ": got " + ids + ", reference " + expected);
                    }
                }
            }
            return;
        }
        String message = message(r.body());
        if (message == null) {
            lost(prompt + ": status " + r.status() + " without a message: " + abbreviate(r.body()));
            return;
        }
        clearErrors.increment();
        synchronized (this) {
            errorKinds.merge(r.status() + " " + abbreviate(message.replaceAll("[0-9]+", "#")), 1L, Long::sum);
        }
    }

    private synchronized void lost(String what) {
        lost.increment();
        if (lostExamples.size() < 10) {
            lostExamples.add(what);
        }
    }

    /** The error message of a JSON error body ({@code error.message}, {@code detail}, {@code message}). */
    static String message(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            JsonNode j = Http.JSON.readTree(body);
            for (JsonNode m : List.of(j.path("error").path("message"), j.path("detail"), j.path("message"),
                    j.path("error"))) {
                if (m.isTextual() && !m.asText().isBlank()) {
                    return m.asText();
                }
            }
            return null;
        } catch (java.io.IOException notJson) {
            return body.strip();
        }
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "(no body)";
        }
        String one = s.replaceAll("\\s+", " ").strip();
        return one.length() > 100 ? one.substring(0, 100) + "…" : one;
    }

    synchronized Map<String, Long> errorKinds() {
        return new TreeMap<>(errorKinds);
    }

    synchronized List<String> lostExamples() {
        return List.copyOf(lostExamples);
    }

    synchronized List<String> mismatchExamples() {
        return List.copyOf(mismatchExamples);
    }
}
