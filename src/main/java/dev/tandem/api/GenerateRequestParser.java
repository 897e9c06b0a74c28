package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * SGLang's {@code GenerateReqInput}: {@code text} or {@code input_ids}, single or batch, with per-item or shared
 * {@code sampling_params}, {@code rid}, {@code return_logprob}, {@code logprob_start_len}, {@code top_logprobs_num}.
 * A batch (or {@code n > 1}) answers with a JSON list.
 */
public final class GenerateRequestParser {
    private GenerateRequestParser() {
    }

    /** The items of one request and how to answer it. */
    public record Parsed(List<GenerateInput> items, boolean batch, boolean stream) {
    }

    public static Parsed parse(JsonNode body) {
        return parse(body, RequestLimits.DEFAULT);
    }

    /**
     * Parses {@code body}, refusing (400, naming the field) a request that expands to more than
     * {@code limits.maxBatchItems()} items or carries too many or too long stop strings.
     */
    public static Parsed parse(JsonNode body, RequestLimits limits) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("The request body must be a JSON object");
        }
        JsonNode text = nonNull(body.get("text"));
        JsonNode ids = nonNull(body.get("input_ids"));
        if (nonNull(body.get("input_embeds")) != null) {
            throw new ApiException(400, "input_embeds is not supported by Tandem", "input_embeds");
        }
        if ((text == null) == (ids == null)) {
            throw ApiException.badRequest("Either text or input_ids should be provided (exactly one of them)");
        }
        List<String> texts = new ArrayList<>();
        List<int[]> idLists = new ArrayList<>();
        boolean batch;
        if (text != null) {
            batch = text.isArray();
            if (batch) {
                limits.checkItems(text.size(), "text");
            }
            for (JsonNode t : batch ? iterable(text) : List.of(text)) {
                if (!t.isTextual()) {
                    throw ApiException.badField("text", t, "must be a string or a list of strings");
                }
                if (t.asText().isEmpty()) {
                    throw ApiException.badField("text", "\"\"", "the prompt is empty");
                }
                texts.add(t.asText());
            }
        } else {
            if (!ids.isArray() || ids.isEmpty()) {
                throw ApiException.badField("input_ids", ids, "must be a non-empty list of token ids");
            }
            batch = ids.get(0).isArray();
            if (batch) {
                limits.checkItems(ids.size(), "input_ids");
            }
            for (JsonNode l : batch ? iterable(ids) : List.of(ids)) {
                int[] one = Json.ids(l, "input_ids");
                if (one.length == 0) {
                    throw ApiException.badField("input_ids", "[]", "the prompt is empty");
                }
                idLists.add(one);
            }
        }
        int count = text != null ? texts.size() : idLists.size();
        if (count == 0) {
            throw ApiException.badField(text != null ? "text" : "input_ids", "[]", "the batch is empty");
        }
        Json fields = new Json(body, "");
        boolean stream = fields.bool("stream", false);
        boolean withText = fields.bool("return_text_in_logprobs", false);
        List<GenerateInput> items = new ArrayList<>();
        boolean expanded = false;
        List<SamplingParamsParser.Parsed> sps = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < count; i++) {
            sps.add(SamplingParamsParser.parse(perItem(body, "sampling_params", i, batch),
                    "sampling_params" + (batch ? "[" + i + "]" : ""), limits));
            total += sps.get(i).n();
        }
        boolean shared = !(body.get("sampling_params") instanceof com.fasterxml.jackson.databind.node.ArrayNode);
        limits.checkItems(total, batch && !shared ? "sampling_params[].n" : "sampling_params.n");
        for (int i = 0; i < count; i++) {
            String where = batch ? "[" + i + "]" : "";
            SamplingParamsParser.Parsed sp = sps.get(i);
            String rid = ridOf(perItem(body, "rid", i, batch), where);
            boolean lp = boolOf(perItem(body, "return_logprob", i, batch), "return_logprob" + where);
            int start = intOf(perItem(body, "logprob_start_len", i, batch), -1, "logprob_start_len" + where);
            int top = intOf(perItem(body, "top_logprobs_num", i, batch), 0, "top_logprobs_num" + where);
            if (top < 0 || top > 1000) {
                throw ApiException.badField("top_logprobs_num" + where, top, "must be in [0, 1000]");
            }
            if (start < -1) {
                throw ApiException.badField("logprob_start_len" + where, start, "must be -1 or >= 0");
            }
            var bootstrap = BootstrapFields.parse(body, i, batch);
            BootstrapFields.checkCopies(bootstrap, sp.n());
            for (int k = 0; k < sp.n(); k++) {
                // The n copies of an item are rid-k; their group is the rid the client named, which is what an
                // abort by that rid matches (exactly: another client's rid "rid-1" has its own group).
                String itemRid = sp.n() == 1 ? rid : rid + "-" + k;
                items.add(new GenerateInput(itemRid, rid, text != null ? texts.get(i) : null,
                        text != null ? null : idLists.get(i), sp.params(), sp.stop(), lp, start, top, withText,
                        BootstrapFields.copy(bootstrap, k), sp.constraint()));
            }
            expanded |= sp.n() > 1;
        }
        return new Parsed(List.copyOf(items), batch || expanded, stream);
    }

    private static JsonNode perItem(JsonNode body, String field, int i, boolean batch) {
        JsonNode v = nonNull(body.get(field));
        if (v == null || !batch || !v.isArray()) {
            return v;
        }
        if (i >= v.size()) {
            throw ApiException.badField(field, v, "needs one entry per batch item");
        }
        return nonNull(v.get(i));
    }

    private static String ridOf(JsonNode v, String where) {
        if (v == null) {
            return UUID.randomUUID().toString().replace("-", "");
        }
        if (!v.isTextual() || v.asText().isEmpty()) {
            throw ApiException.badField("rid" + where, v, "must be a non-empty string");
        }
        return v.asText();
    }

    private static boolean boolOf(JsonNode v, String name) {
        if (v == null) {
            return false;
        }
        if (!v.isBoolean()) {
            throw ApiException.badField(name, v, "must be true or false");
        }
        return v.asBoolean();
    }

    private static int intOf(JsonNode v, int dflt, String name) {
        if (v == null) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiException.badField(name, v, "must be an integer");
        }
        return v.asInt();
    }

    private static JsonNode nonNull(JsonNode n) {
        return n == null || n.isNull() ? null : n;
    }

    private static List<JsonNode> iterable(JsonNode arr) {
        List<JsonNode> l = new ArrayList<>();
        arr.forEach(l::add);
        return l;
    }
}
