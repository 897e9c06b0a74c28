package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.ApiException;

/**
 * The number of sequences one request asks for (batch items × {@code n}), counted the way the workers will expand
 * it, and refused past {@code max_batch_items} before anything is dispatched: a gateway would otherwise hand one
 * client's request to two workers that each refuse it only after parsing every item. The same count as the worker's
 * own check; it lives here until the {@code api} package offers it.
 */
final class BatchCap {
    private BatchCap() {
    }

    /** Throws a 400 naming the field when {@code body} (for route {@code path}) asks for more than {@code max}. */
    static void check(String path, JsonNode body, int max) {
        long total;
        String field;
        if (path.equals("/generate")) {
            int items = Math.max(1, PdInjection.batchSize(body));
            field = body.hasNonNull("text") ? "text" : "input_ids";
            JsonNode sp = body.get("sampling_params");
            if (sp != null && sp.isArray()) {
                total = 0;
                for (int i = 0; i < Math.max(items, sp.size()); i++) {
                    total += n(sp.get(i));
                }
            } else {
                long n = n(sp);
                total = items * n;
                field = n > 1 ? "sampling_params.n" : field;
            }
        } else {
            JsonNode prompt = body.get("prompt");
            long items = path.equals("/v1/completions") && prompt != null && prompt.isArray() && !prompt.isEmpty()
                    && !prompt.get(0).isNumber() ? prompt.size() : 1;
            long n = n(body);
            total = items * n;
            field = n > 1 ? "n" : "prompt";
        }
        if (total > max) {
            throw new ApiException(400, "Invalid " + field + ": the request asks for " + total + " sequences "
                    + "(batch items × n); at most max_batch_items = " + max, field);
        }
    }

    /** The {@code n} of a sampling-params object (1 when absent or not a number; the worker validates it). */
    private static long n(JsonNode params) {
        JsonNode n = params == null ? null : params.get("n");
        if (n == null || !n.isNumber()) {
            return 1;
        }
        double v = n.asDouble();
        return v >= Integer.MAX_VALUE ? Integer.MAX_VALUE : Math.max(1, (long) v); // products stay below 2^63
    }
}
