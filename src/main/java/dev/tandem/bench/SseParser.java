package dev.tandem.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Turns one line of an SGLang SSE stream into an {@link SseEvent}. SGLang puts each event's JSON on a single
 * {@code data:} line, so parsing line by line needs no buffering across lines; blank lines (event separators),
 * comments ({@code :...}) and other fields ({@code event:}, {@code id:}) carry nothing we measure and give null.
 */
public final class SseParser {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ERROR_CHARS = 500;

    private SseParser() {
    }

    /** The event on this line, or null when the line carries none. Malformed JSON is an {@link SseEvent.Error}. */
    public static SseEvent parse(String line) {
        if (line == null || !line.startsWith("data:")) {
            return null;
        }
        String payload = line.substring("data:".length()).strip();
        if (payload.isEmpty()) {
            return null;
        }
        if (payload.equals("[DONE]")) {
            return new SseEvent.Done();
        }
        JsonNode n;
        try {
            n = JSON.readTree(payload);
        } catch (JsonProcessingException e) {
            return new SseEvent.Error("malformed event: " + abbreviate(payload));
        }
        if (n == null || !n.isObject()) {
            return new SseEvent.Error("malformed event: " + abbreviate(payload));
        }
        if (n.has("error")) {
            return new SseEvent.Error(errorMessage(n.get("error")));
        }
        JsonNode idsNode = n.get("output_ids");
        int[] ids = new int[idsNode != null && idsNode.isArray() ? idsNode.size() : 0];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = idsNode.get(i).asInt(-1);
        }
        JsonNode meta = n.path("meta_info");
        JsonNode finish = meta.get("finish_reason");
        return new SseEvent.Data(ids, intOr(meta.get("completion_tokens")), intOr(meta.get("prompt_tokens")),
                finish != null && !finish.isNull(), intOr(meta.get("cached_tokens")));
    }

    /** SGLang sends {@code {"error": {"message": ...}}}; other servers send a bare string. Accept both. */
    static String errorMessage(JsonNode err) {
        if (err.isTextual()) {
            return abbreviate(err.asText());
        }
        JsonNode msg = err.get("message");
        if (msg != null && msg.isTextual()) {
            return abbreviate(msg.asText());
        }
        return abbreviate(err.toString());
    }

    static String abbreviate(String s) {
        return s.length() <= MAX_ERROR_CHARS ? s : s.substring(0, MAX_ERROR_CHARS) + "...";
    }

    private static int intOr(JsonNode n) {
        return n != null && n.canConvertToInt() && n.isNumber() ? n.asInt() : -1;
    }
}
