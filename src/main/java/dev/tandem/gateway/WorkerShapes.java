package dev.tandem.gateway;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;
import java.util.Set;

/**
 * What the gateway repeats of a worker's answers: only the fields of the shape a worker (SGLang's or Tandem's) is
 * known to send, each checked for its type, strings stripped of control characters and bounded, lists bounded. A
 * worker the gateway should not trust (a wrong registration, a compromised host) can then neither make the gateway
 * serve arbitrary content to its clients nor read back what some other server answered. Error texts pass through
 * {@link #message} and stay short.
 */
final class WorkerShapes {
    static final int MAX_STRING = 512;
    static final int MAX_MESSAGE = 500;
    static final int MAX_LIST = 64;

    private enum Kind { STRING, INT, NUMBER, BOOL, NUMBER_OR_NULL, STRING_OR_NULL, STRINGS }

    /** SGLang's server args and scheduler info that Tandem's {@code /get_server_info} reports (worker/AdminRoutes). */
    private static final Map<String, Kind> SERVER_INFO = Map.ofEntries(
            Map.entry("model_path", Kind.STRING), Map.entry("tokenizer_path", Kind.STRING),
            Map.entry("served_model_name", Kind.STRING), Map.entry("disaggregation_mode", Kind.STRING),
            Map.entry("disaggregation_transfer_backend", Kind.STRING),
            Map.entry("disaggregation_bootstrap_port", Kind.INT), Map.entry("host", Kind.STRING),
            Map.entry("port", Kind.INT), Map.entry("backend", Kind.STRING), Map.entry("version", Kind.STRING),
            Map.entry("dtype", Kind.STRING), Map.entry("kv_cache_dtype", Kind.STRING),
            Map.entry("page_size", Kind.INT), Map.entry("max_total_num_tokens", Kind.INT),
            Map.entry("max_running_requests", Kind.INT), Map.entry("max_prefill_tokens", Kind.INT),
            Map.entry("chunked_prefill_size", Kind.INT), Map.entry("context_length", Kind.INT),
            Map.entry("num_reserved_decode_tokens", Kind.INT), Map.entry("tp_size", Kind.INT),
            Map.entry("dp_size", Kind.INT), Map.entry("pp_size", Kind.INT),
            Map.entry("mem_fraction_static", Kind.NUMBER));

    /** The numbers an entry of {@code internal_states} may carry (Tandem's scheduler stats and SGLang's). */
    private static final Map<String, Kind> INTERNAL_STATE = Map.ofEntries(
            Map.entry("num_running_reqs", Kind.INT), Map.entry("num_waiting_reqs", Kind.INT),
            Map.entry("kv_pages_used", Kind.INT), Map.entry("kv_pages_total", Kind.INT),
            Map.entry("prefix_cache_pages", Kind.INT), Map.entry("prefix_cache_hit_tokens", Kind.INT),
            Map.entry("retracted_reqs", Kind.INT), Map.entry("generated_tokens", Kind.INT),
            Map.entry("last_gen_throughput", Kind.NUMBER), Map.entry("avg_spec_accept_length", Kind.NUMBER_OR_NULL));

    private static final Map<String, Kind> MODEL_INFO = Map.ofEntries(
            Map.entry("model_path", Kind.STRING), Map.entry("tokenizer_path", Kind.STRING),
            Map.entry("is_generation", Kind.BOOL), Map.entry("preferred_sampling_params", Kind.STRING_OR_NULL),
            Map.entry("weight_version", Kind.STRING), Map.entry("served_model_name", Kind.STRING),
            Map.entry("model_type", Kind.STRING), Map.entry("architectures", Kind.STRINGS),
            Map.entry("has_image_understanding", Kind.BOOL), Map.entry("has_audio_understanding", Kind.BOOL));

    private static final Map<String, Kind> MODEL_CARD = Map.ofEntries(
            Map.entry("id", Kind.STRING), Map.entry("created", Kind.INT), Map.entry("owned_by", Kind.STRING),
            Map.entry("root", Kind.STRING), Map.entry("parent", Kind.STRING_OR_NULL),
            Map.entry("max_model_len", Kind.INT));

    private WorkerShapes() {
    }

    /** A worker's {@code /get_server_info}, known fields only. */
    static JsonObject serverInfo(JsonObject raw) {
        JsonObject o = pick(raw, SERVER_INFO);
        if (raw.getValue("internal_states") instanceof JsonArray states) {
            JsonArray out = new JsonArray();
            for (int i = 0; i < states.size() && out.size() < MAX_LIST; i++) {
                if (states.getValue(i) instanceof JsonObject s) {
                    out.add(pick(s, INTERNAL_STATE));
                }
            }
            o.put("internal_states", out);
        }
        return o;
    }

    /** A worker's {@code /get_model_info}, known fields only. */
    static JsonObject modelInfo(JsonObject raw) {
        return pick(raw, MODEL_INFO);
    }

    /** An OpenAI model list rebuilt from the known fields of each card (a card without a string id is dropped). */
    static JsonObject models(JsonObject raw) {
        JsonArray data = new JsonArray();
        if (raw.getValue("data") instanceof JsonArray cards) {
            for (int i = 0; i < cards.size() && data.size() < MAX_LIST; i++) {
                if (cards.getValue(i) instanceof JsonObject c && c.getValue("id") instanceof String) {
                    JsonObject card = pick(c, MODEL_CARD);
                    data.add(new JsonObject().put("id", card.remove("id")).put("object", "model").mergeIn(card));
                }
            }
        }
        return new JsonObject().put("object", "list").put("data", data);
    }

    /** The body as a JSON object, or null when it is not one. */
    static JsonObject object(Buffer body) {
        try {
            return body.toJsonValue() instanceof JsonObject o ? o : null;
        } catch (RuntimeException notJson) {
            return null;
        }
    }

    /**
     * The message of a worker's error body: SGLang's native {@code {"error": {"message"}}}, OpenAI's
     * {@code {"message"}} (or {@code {"error": {"message"}}}), FastAPI's {@code {"detail"}}, or the text itself;
     * sanitized and bounded.
     */
    static String errorMessage(Buffer body) {
        JsonObject o = object(body);
        if (o == null) {
            return message(body.toString());
        }
        Object err = o.getValue("error");
        if (err instanceof JsonObject e && e.getValue("message") instanceof String m) {
            return message(m);
        }
        for (Object m : new Object[] {err, o.getValue("message"), o.getValue("detail")}) {
            if (m instanceof String s) {
                return message(s);
            }
        }
        return "(no message)";
    }

    /** The offending field an error names (OpenAI's {@code param}), when it looks like a field name; else null. */
    static String errorParam(Buffer body) {
        JsonObject o = object(body);
        Object p = o == null ? null : o.getValue("param") != null ? o.getValue("param")
                : o.getValue("error") instanceof JsonObject e ? e.getValue("param") : null;
        return p instanceof String s && s.matches("[A-Za-z0-9_.\\[\\]]{1,64}") ? s : null;
    }

    /** {@code s} without control or format characters, at most {@value #MAX_MESSAGE} code points. */
    static String message(String s) {
        String clean = clean(s, MAX_MESSAGE).strip();
        return clean.isEmpty() ? "(no message)" : clean;
    }

    private static String clean(String s, int max) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), max));
        int kept = 0;
        for (int i = 0; i < s.length() && kept < max; ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            int type = Character.getType(cp);
            if (Character.isISOControl(cp) || type == Character.FORMAT || type == Character.SURROGATE
                    || type == Character.UNASSIGNED) {
                cp = ' ';
            }
            b.appendCodePoint(cp);
            kept++;
        }
        if (kept == max && b.length() < s.length()) {
            b.append('…');
        }
        return b.toString();
    }

    private static JsonObject pick(JsonObject raw, Map<String, Kind> known) {
        JsonObject o = new JsonObject();
        for (Map.Entry<String, Kind> k : known.entrySet()) {
            if (raw.containsKey(k.getKey())) {
                Object v = checked(raw.getValue(k.getKey()), k.getValue());
                if (v != null || (raw.getValue(k.getKey()) == null && nullable(k.getValue()))) {
                    o.put(k.getKey(), v);
                }
            }
        }
        return o;
    }

    private static boolean nullable(Kind k) {
        return k == Kind.NUMBER_OR_NULL || k == Kind.STRING_OR_NULL;
    }

    /** {@code v} if it is of kind {@code k} (strings cleaned), else null. */
    private static Object checked(Object v, Kind k) {
        return switch (k) {
            case STRING, STRING_OR_NULL -> v instanceof String s ? clean(s, MAX_STRING) : null;
            case BOOL -> v instanceof Boolean b ? b : null;
            case INT -> integral(v);
            case NUMBER, NUMBER_OR_NULL -> v instanceof Number n && Double.isFinite(n.doubleValue())
                    ? (Object) n.doubleValue() : null;
            case STRINGS -> {
                if (!(v instanceof JsonArray a)) {
                    yield null;
                }
                JsonArray out = new JsonArray();
                for (int i = 0; i < a.size() && out.size() < MAX_LIST; i++) {
                    if (a.getValue(i) instanceof String s) {
                        out.add(clean(s, MAX_STRING));
                    }
                }
                yield out;
            }
        };
    }

    private static Long integral(Object v) {
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof BigInteger b && b.bitLength() < 64) {
            return b.longValue();
        }
        if (v instanceof BigDecimal d) {
            try {
                return d.longValueExact();
            } catch (ArithmeticException notIntegral) {
                return null;
            }
        }
        return null;
    }

    /** Names of every field this class may repeat from a server info (for tests and docs). */
    static Set<String> serverInfoFields() {
        return SERVER_INFO.keySet();
    }
}
