package dev.tandem.kvevents;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * SGLang's {@code --kv-events-config} JSON (§8.6): unknown keys ignored, defaults as SGLang's, plus
 * {@code format} ("sglang" or "vllm") for the wire form.
 */
public record KvEventsConfig(String publisher, String endpoint, String replayEndpoint, int bufferSteps, int hwm,
                             int maxQueueSize, String topic, String format) {

    public static KvEventsConfig defaults() {
        return new KvEventsConfig("null", "tcp://*:5557", null, 10000, 100000, 100000, "", "sglang");
    }

    /** Parses the JSON; null or blank gives the defaults (the null publisher). */
    public static KvEventsConfig parse(String json) {
        if (json == null || json.isBlank()) {
            return defaults();
        }
        JsonNode j;
        try {
            j = new ObjectMapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("kv-events-config: not valid JSON (" + e.getMessage() + ")");
        }
        if (!j.isObject()) {
            throw new IllegalArgumentException("kv-events-config: must be a JSON object, got " + json);
        }
        KvEventsConfig d = defaults();
        String format = j.path("format").asText(d.format());
        if (!format.equals("sglang") && !format.equals("vllm")) {
            throw new IllegalArgumentException("kv-events-config.format: '" + format + "' (choose sglang or vllm)");
        }
        return new KvEventsConfig(j.path("publisher").asText(d.publisher()), j.path("endpoint").asText(d.endpoint()),
                j.hasNonNull("replay_endpoint") ? j.get("replay_endpoint").asText() : null,
                j.path("buffer_steps").asInt(d.bufferSteps()), j.path("hwm").asInt(d.hwm()),
                j.path("max_queue_size").asInt(d.maxQueueSize()), j.path("topic").asText(d.topic()), format);
    }

    public KvEventCodec.Format wireFormat() {
        return format.equals("vllm") ? KvEventCodec.Format.VLLM : KvEventCodec.Format.SGLANG;
    }

    /**
     * SGLang's endpoint offset by DP rank: {@code tcp} ports grow by the rank, {@code inproc} names get
     * {@code _dp<rank>}; rank 0 keeps the endpoint.
     */
    public static String offsetEndpoint(String endpoint, int rank) {
        if (endpoint == null || rank == 0) {
            return endpoint;
        }
        if (endpoint.contains("inproc")) {
            return endpoint + "_dp" + rank;
        }
        if (endpoint.contains("tcp")) {
            int colon = endpoint.lastIndexOf(':');
            return endpoint.substring(0, colon + 1) + (Integer.parseInt(endpoint.substring(colon + 1)) + rank);
        }
        throw new IllegalArgumentException("endpoint '" + endpoint + "' must contain 'inproc' or 'tcp'");
    }
}
