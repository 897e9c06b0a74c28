package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code stop} field, native or OpenAI: a string or a list of strings, at most {@code max_stop_strings} of them,
 * each at most {@code max_stop_length} characters. Empty strings are dropped (they would match everywhere).
 */
final class StopField {
    private StopField() {
    }

    static List<String> parse(JsonNode s, String field, RequestLimits limits) {
        List<String> out = new ArrayList<>();
        if (s == null || s.isNull()) {
            return out;
        }
        if (s.isTextual()) {
            out.add(s.asText());
        } else if (s.isArray()) {
            if (s.size() > limits.maxStopStrings()) {
                throw new ApiException(400, "Invalid " + field + ": " + s.size() + " stop strings, more than "
                        + "max_stop_strings = " + limits.maxStopStrings(), field);
            }
            for (JsonNode x : s) {
                if (!x.isTextual()) {
                    throw ApiException.badField(field, s, "must be a string or a list of strings");
                }
                out.add(x.asText());
            }
        } else {
            throw ApiException.badField(field, s, "must be a string or a list of strings");
        }
        for (int i = 0; i < out.size(); i++) {
            String one = out.get(i);
            int chars = one.codePointCount(0, one.length());
            if (chars > limits.maxStopLength()) {
                throw new ApiException(400, "Invalid " + field + (s.isArray() ? "[" + i + "]" : "") + ": a stop "
                        + "string of " + chars + " characters, longer than max_stop_length = "
                        + limits.maxStopLength(), field);
            }
        }
        out.removeIf(String::isEmpty);
        if (out.size() > limits.maxStopStrings()) { // a single string when max_stop_strings is 0
            throw new ApiException(400, "Invalid " + field + ": " + out.size() + " stop strings, more than "
                    + "max_stop_strings = " + limits.maxStopStrings(), field);
        }
        return List.copyOf(out);
    }

    /**
     * {@code stop_token_ids}, at most {@link #MAX_STOP_TOKEN_IDS}: the scheduler tests each new token against them,
     * so a body full of ids would cost every step of every client.
     */
    static List<Integer> tokenIds(Json j, String field, String name) {
        List<Integer> ids = j.intList(field);
        if (ids.size() > MAX_STOP_TOKEN_IDS) {
            throw new ApiException(400, "Invalid " + name + ": " + ids.size() + " ids, more than "
                    + MAX_STOP_TOKEN_IDS, name);
        }
        return ids;
    }

    static final int MAX_STOP_TOKEN_IDS = 1024;
}
