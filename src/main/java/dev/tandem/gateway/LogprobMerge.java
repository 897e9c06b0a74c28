package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Puts the prefill worker's prompt logprobs in front of the decode worker's (which has none: it never saw the
 * prompt's logits), in a response object, a batch list (SGLang's balancer skips batches; this does not), or a
 * stream chunk.
 */
public final class LogprobMerge {
    private LogprobMerge() {
    }

    /** Merges {@code prefill}'s input logprobs into {@code decode} in place; both objects or both lists. */
    public static void merge(JsonNode prefill, JsonNode decode) {
        if (prefill == null || decode == null) {
            return;
        }
        if (decode.isArray() && prefill.isArray()) {
            for (int i = 0; i < Math.min(prefill.size(), decode.size()); i++) {
                merge(prefill.get(i), decode.get(i));
            }
            return;
        }
        if (!(decode instanceof ObjectNode d) || !prefill.isObject()) {
            return;
        }
        JsonNode pMeta = prefill.get("meta_info");
        JsonNode dMeta = d.get("meta_info");
        if (pMeta == null || !(dMeta instanceof ObjectNode dm)) {
            return;
        }
        for (String field : new String[] {"input_token_logprobs", "input_top_logprobs"}) {
            JsonNode p = pMeta.get(field);
            if (p == null || !p.isArray()) {
                continue;
            }
            ArrayNode merged = dm.arrayNode();
            merged.addAll((ArrayNode) p);
            JsonNode own = dm.get(field);
            if (own != null && own.isArray()) {
                merged.addAll((ArrayNode) own);
            }
            dm.set(field, merged);
        }
    }
}
