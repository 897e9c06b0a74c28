package dev.tandem.gateway;

import dev.tandem.api.ErrorBodies;
import io.vertx.ext.web.RoutingContext;

/**
 * The one place the gateway turns a refusal into a response: the OpenAI error shape on {@code /v1/…} routes,
 * SGLang's native shape elsewhere (both from {@link ErrorBodies}).
 */
final class GatewayErrors {
    private GatewayErrors() {
    }

    static boolean openAi(String path) {
        return path.startsWith("/v1/");
    }

    /** The error body in the route's shape; {@code param} names the offending field, or null. */
    static String body(boolean openAi, int status, String message, String param) {
        return (openAi ? ErrorBodies.openAiBody(status, message, param) : ErrorBodies.nativeBody(message)).toString();
    }

    /** Ends {@code ctx} with an error in its route's shape, unless it already ended or the client left. */
    static void reply(RoutingContext ctx, int status, String message, String param) {
        json(ctx, status, body(openAi(ctx.normalizedPath()), status, message, param));
    }

    static void json(RoutingContext ctx, int status, Object body) {
        if (!ctx.response().ended() && !ctx.response().closed()) {
            ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                    .end(String.valueOf(body));
        }
    }
}
