package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.ApiException;
import dev.tandem.config.GatewayConfig;


/**
 * SGLang's {@code PDRegistryRequest} ({@code POST /register}, and the same body announced on the event bus): parsed
 * and validated, errors as 400s naming the field. {@code registry_url} must follow {@link GatewayConfig#workerUrl}.
 */
public final class RegisterRequest {
    private RegisterRequest() {
    }

    public static WorkerEntry parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("The request body must be a JSON object {mode, registry_url, bootstrap_port}");
        }
        JsonNode mode = body.get("mode");
        if (mode == null || !mode.isTextual() || !(mode.asText().equals("prefill") || mode.asText().equals("decode"))) {
            throw ApiException.badField("mode", shown(mode), "must be \"prefill\" or \"decode\"");
        }
        JsonNode url = body.get("registry_url");
        if (url == null || !url.isTextual()) {
            throw ApiException.badField("registry_url", shown(url), "must be a URL string");
        }
        String normalized;
        try {
            normalized = GatewayConfig.workerUrl(url.asText());
        } catch (IllegalArgumentException e) {
            throw ApiException.badField("registry_url", shown(url), "must be scheme://host:port with scheme http or https: "
                    + e.getMessage());
        }
        JsonNode port = body.get("bootstrap_port");
        boolean hasPort = port != null && !port.isNull();
        if (hasPort && (!port.isIntegralNumber() || !port.canConvertToInt() || port.asInt() < 1 || port.asInt() > 65535)) {
            throw ApiException.badField("bootstrap_port", shown(port), "must be a port number or null");
        }
        if (mode.asText().equals("prefill") && !hasPort) {
            throw new ApiException(400, "Bootstrap port must be set in PREFILL mode.", "bootstrap_port");
        }
        if (mode.asText().equals("decode") && hasPort) {
            throw new ApiException(400, "Bootstrap port must not be set in DECODE mode.", "bootstrap_port");
        }
        return new WorkerEntry(mode.asText(), normalized, hasPort ? port.asInt() : null);
    }

    /** A client's value as it is echoed in an error: bounded, so a huge value does not make a huge answer. */
    private static String shown(JsonNode v) {
        String s = String.valueOf(v);
        return s.length() <= 120 ? s : s.substring(0, 120) + "…";
    }
}
