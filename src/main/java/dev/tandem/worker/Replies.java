package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.ApiException;
import dev.tandem.api.ErrorBodies;
import io.vertx.ext.web.RoutingContext;

/** Small helpers for JSON bodies in and out, and the one place errors become responses. */
final class Replies {
    static final ObjectMapper JSON = new ObjectMapper();

    private Replies() {
    }

    static JsonNode body(RoutingContext ctx) {
        String s = ctx.body().asString();
        if (s == null || s.isBlank()) {
            throw ApiException.badRequest("The request body is empty; expected a JSON object");
        }
        try {
            return JSON.readTree(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiException.badRequest("The request body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    static void json(RoutingContext ctx, int status, Object body) {
        if (!ctx.response().ended() && !ctx.response().closed()) {
            ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(String.valueOf(body));
        }
    }

    /** The error shape of the route: OpenAI's under {@code /v1/}, SGLang's native one elsewhere. */
    static void errorFor(RoutingContext ctx, Throwable t) {
        if (ctx.normalizedPath().startsWith("/v1/")) {
            openAiError(ctx, t);
        } else {
            error(ctx, t);
        }
    }

    /** Native (SGLang) error shape. */
    static void error(RoutingContext ctx, Throwable t) {
        if (t instanceof ApiException e) {
            json(ctx, e.status(), ErrorBodies.nativeBody(e.getMessage()));
        } else {
            json(ctx, 500, ErrorBodies.nativeBody("internal error: " + t));
        }
    }

    /** OpenAI error shape. */
    static void openAiError(RoutingContext ctx, Throwable t) {
        if (t instanceof ApiException e) {
            json(ctx, e.status(), ErrorBodies.openAiBody(e.status(), e.getMessage(), e.param()));
        } else {
            json(ctx, 500, ErrorBodies.openAiBody(500, "internal error: " + t, null));
        }
    }
}
