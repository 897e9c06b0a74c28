package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What the gateway adds to a request before sending it to both workers (SGLang §2.3): the prefill worker's
 * {@code bootstrap_host} (IPv6 bracketed) and {@code bootstrap_port}, and a fresh {@code bootstrap_room} in
 * [0, 2^63-1], per item for a {@code /generate} batch. It also sets a {@code rid} when the client gave none, so the
 * other side can be aborted by rid when one side fails.
 */
public final class PdInjection {
    private PdInjection() {
    }

    /** The rids the request now carries (one per batch item), for aborts. */
    public record Injected(ObjectNode body, List<String> rids, boolean batch) {
    }

    public static long newRoom() {
        return ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
    }

    /** The host part of {@code url}, with an IPv6 literal in brackets. */
    public static String bootstrapHost(String url) {
        String host = URI.create(url).getHost();
        if (host == null) {
            throw new IllegalArgumentException("worker URL without a host: " + url);
        }
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** Items of a {@code /generate} body: a list-valued {@code text} or a list of lists in {@code input_ids}. */
    static int batchSize(JsonNode body) {
        JsonNode text = body.get("text");
        if (text != null && !text.isNull()) {
            return text.isArray() ? text.size() : -1;
        }
        JsonNode ids = body.get("input_ids");
        if (ids != null && ids.isArray() && !ids.isEmpty() && ids.get(0).isArray()) {
            return ids.size();
        }
        return -1;
    }

    /** Injects into a copy of {@code body}; {@code generate} tells SGLang's native route from the OpenAI ones. */
    public static Injected inject(ObjectNode body, boolean generate, WorkerEntry prefill) {
        ObjectNode b = body.deepCopy();
        String host = bootstrapHost(prefill.url());
        int n = generate ? batchSize(b) : -1;
        List<String> rids = new ArrayList<>();
        if (n < 0) {
            b.put("bootstrap_host", host);
            if (prefill.bootstrapPort() == null) {
                b.putNull("bootstrap_port");
            } else {
                b.put("bootstrap_port", prefill.bootstrapPort());
            }
            b.put("bootstrap_room", newRoom());
            if (!b.hasNonNull("rid")) {
                b.put("rid", UUID.randomUUID().toString().replace("-", ""));
            }
            rids.add(b.get("rid").asText());
            return new Injected(b, rids, false);
        }
        ArrayNode hosts = b.putArray("bootstrap_host");
        ArrayNode ports = b.putArray("bootstrap_port");
        ArrayNode rooms = b.putArray("bootstrap_room");
        for (int i = 0; i < n; i++) {
            hosts.add(host);
            if (prefill.bootstrapPort() == null) {
                ports.addNull();
            } else {
                ports.add(prefill.bootstrapPort());
            }
            rooms.add(newRoom());
        }
        JsonNode rid = b.get("rid");
        if (rid == null || rid.isNull()) {
            ArrayNode list = b.putArray("rid");
            for (int i = 0; i < n; i++) {
                list.add(UUID.randomUUID().toString().replace("-", ""));
            }
            rid = list;
        }
        if (rid.isArray()) {
            rid.forEach(r -> rids.add(r.asText()));
        } else {
            rids.add(rid.asText());
        }
        return new Injected(b, rids, true);
    }

    /** SGLang's rule for merging logprobs, made one rule: {@code return_logprob} true (for any item of a batch). */
    public static boolean wantsLogprobs(JsonNode body) {
        JsonNode v = body.get("return_logprob");
        if (v == null) {
            return body.path("logprobs").asBoolean(false) || body.path("logprobs").isInt();
        }
        if (v.isArray()) {
            for (JsonNode x : v) {
                if (x.asBoolean(false)) {
                    return true;
                }
            }
            return false;
        }
        return v.asBoolean(false);
    }
}
