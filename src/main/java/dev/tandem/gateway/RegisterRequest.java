package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.ApiException;

import java.net.URI;

/** SGLang's {@code PDRegistryRequest} ({@code POST /register}): parsed and validated, errors as 400s naming the field. */
public final class RegisterRequest {
    private RegisterRequest() {
    }

    public static WorkerEntry parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("The request body must be a JSON object {mode, registry_url, bootstrap_port}");
        }
        JsonNode mode = body.get("mode");
        if (mode == null || !mode.isTextual() || !(mode.asText().equals("prefill") || mode.asText().equals("decode"))) {
            throw ApiException.badField("mode", mode, "must be \"prefill\" or \"decode\"");
        }
        JsonNode url = body.get("registry_url");
        if (url == null || !url.isTextual()) {
            throw ApiException.badField("registry_url", url, "must be a URL string");
        }
        try {
            URI u = URI.create(url.asText());
            if (u.getHost() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https"))) {
                throw new IllegalArgumentException("not an http(s) URL with a host");
            }
        } catch (IllegalArgumentException e) {
            throw ApiException.badField("registry_url", url, "must be an http(s) URL with a host");
        }
        JsonNode port = body.get("bootstrap_port");
        boolean hasPort = port != null && !port.isNull();
        if (hasPort && (!port.isIntegralNumber() || port.asInt() < 1 || port.asInt() > 65535)) {
            throw ApiException.badField("bootstrap_port", port, "must be a port number or null");
        }
        if (mode.asText().equals("prefill") && !hasPort) {
            throw new ApiException(400, "Bootstrap port must be set in PREFILL mode.", "bootstrap_port");
        }
        if (mode.asText().equals("decode") && hasPort) {
            throw new ApiException(400, "Bootstrap port must not be set in DECODE mode.", "bootstrap_port");
        }
        return new WorkerEntry(mode.asText(), url.asText().replaceAll("/+$", ""), hasPort ? port.asInt() : null);
    }
}
