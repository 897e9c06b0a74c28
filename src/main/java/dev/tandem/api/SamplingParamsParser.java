package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.grammar.GrammarSpec;

import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * SGLang's {@code sampling_params} object: known keys with their types and defaults; unknown keys and
 * unsupported features are refused by name, as SGLang's {@code SamplingParams(**params)} does.
 */
public final class SamplingParamsParser {
    private static final Set<String> KNOWN = Set.of("max_new_tokens", "temperature", "top_p", "top_k", "min_p",
            "frequency_penalty", "presence_penalty", "repetition_penalty", "stop", "stop_token_ids", "ignore_eos",
            "min_new_tokens", "skip_special_tokens", "spaces_between_special_tokens", "no_stop_trim", "n",
            "sampling_seed", "stream_interval", "regex", "ebnf", "json_schema", "logit_bias", "custom_params");
    private static final Set<String> UNSUPPORTED = Set.of("logit_bias", "custom_params");
    private static final List<String> CONSTRAINTS = List.of("json_schema", "regex", "ebnf");
    public static final int DEFAULT_MAX_NEW_TOKENS = 128;

    private SamplingParamsParser() {
    }

    /**
     * Parsed parameters plus the stop strings (which the scheduler matches on text) and the structured-output
     * constraint ({@code json_schema}, {@code regex} or {@code ebnf}; null for none).
     */
    public record Parsed(SamplingParams params, List<String> stop, int n, GrammarSpec constraint) {
        public Parsed(SamplingParams params, List<String> stop, int n) {
            this(params, stop, n, null);
        }
    }

    public static Parsed parse(JsonNode node, String where) {
        return parse(node, where, RequestLimits.DEFAULT);
    }

    /** Parses {@code node}, the {@code sampling_params} object at {@code where}; stop strings within {@code limits}. */
    public static Parsed parse(JsonNode node, String where, RequestLimits limits) {
        if (node == null || node.isNull()) {
            return new Parsed(defaults(), List.of(), 1);
        }
        if (!node.isObject()) {
            throw ApiException.badField(where, node, "must be an object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KNOWN.contains(k)) {
                throw new ApiException(400, "Unknown sampling parameter '" + ApiException.abbreviate(k) + "' in "
                        + where, where + "." + k);
            }
            if (UNSUPPORTED.contains(k) && !node.get(k).isNull()) {
                throw new ApiException(400, where + "." + k + " is not supported by Tandem yet", where + "." + k);
            }
        }
        Json j = new Json(node, where);
        List<String> stop = StopField.parse(node.get("stop"), where + ".stop", limits);
        int n = j.integer("n", 1);
        if (n < 1 || n > 128) {
            throw ApiException.badField(where + ".n", n, "must be in [1, 128]");
        }
        try {
            SamplingParams p = new SamplingParams(j.integer("max_new_tokens", DEFAULT_MAX_NEW_TOKENS),
                    j.number("temperature", 1.0f), j.number("top_p", 1.0f), j.integer("top_k", -1),
                    j.number("min_p", 0f), j.number("frequency_penalty", 0f), j.number("presence_penalty", 0f),
                    j.number("repetition_penalty", 1f), j.optionalLong("sampling_seed"),
                    StopField.tokenIds(j, "stop_token_ids", where + ".stop_token_ids"),
                    j.bool("ignore_eos", false), j.integer("min_new_tokens", 0));
            return new Parsed(p, List.copyOf(stop), n, constraint(node, where));
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage(), where);
        }
    }

    /** SGLang's rule: at most one of json_schema, regex and ebnf; each a string (a json_schema object is taken too). */
    private static GrammarSpec constraint(JsonNode node, String where) {
        GrammarSpec spec = null;
        for (String k : CONSTRAINTS) {
            JsonNode v = node.get(k);
            if (v == null || v.isNull()) {
                continue;
            }
            if (spec != null) {
                throw new ApiException(400, where + "." + k + ": only one of json_schema, regex and ebnf may be set ("
                        + spec.field() + " is set too)", where + "." + k);
            }
            String source;
            if (v.isTextual()) {
                source = v.asText();
            } else if (k.equals("json_schema") && v.isObject()) {
                source = v.toString();
            } else {
                throw ApiException.badField(where + "." + k, v, "must be a string");
            }
            spec = new GrammarSpec(switch (k) {
                case "json_schema" -> GrammarSpec.Kind.JSON_SCHEMA;
                case "regex" -> GrammarSpec.Kind.REGEX;
                default -> GrammarSpec.Kind.EBNF;
            }, source, where + "." + k);
        }
        return spec;
    }

    public static SamplingParams defaults() {
        return new SamplingParams(DEFAULT_MAX_NEW_TOKENS, 1f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), false, 0);
    }
}
