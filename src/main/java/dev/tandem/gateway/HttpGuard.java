package dev.tandem.gateway;

import dev.tandem.metrics.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.SecurityPolicyHandler;

import java.util.function.Predicate;

/**
 * What every gateway route passes before its handler: the key check of {@link AccessRule} (on the headers alone,
 * so a refused caller's body is never buffered), then the body, read whole up to {@code max_body_bytes} (413 past
 * it) with multipart file uploads off (no file ever lands on disk). The check is attached to each route as it is
 * declared, so the path the router matched is the path that was checked ({@code /x/../register} cannot slip by).
 * Refusals are counted in {@code tandem_http_unauthorized_total{role="gateway", status}}.
 */
final class HttpGuard {
    private final AccessRule rule;
    private final Predicate<String> loopback;
    private final MeterRegistry meters;
    private final long maxBodyBytes;
    private final BodyHandler body;

    /** {@code loopback}: whether a caller's IP address (as its socket reports it) is on this host. */
    HttpGuard(AccessRule rule, Predicate<String> loopback, long maxBodyBytes, MeterRegistry meters) {
        this.rule = rule;
        this.loopback = loopback;
        this.meters = meters;
        this.maxBodyBytes = maxBodyBytes;
        this.body = BodyHandler.create(false).setBodyLimit(maxBodyBytes);
    }

    /** Declares {@code method path} behind the key check and the body limit. */
    void route(Router r, HttpMethod method, String path, Handler<RoutingContext> handler) {
        AccessRule.Need need = rule.need(path);
        r.route(method, path).handler(new KeyCheck(need, path)).handler(body).handler(handler);
    }

    /**
     * The key check as Vert.x Web's handler kind that runs before the body handler (its default order puts the
     * body first, for form logins; a bearer token needs no body, and a refused caller's should not be read).
     */
    private final class KeyCheck implements SecurityPolicyHandler {
        private final AccessRule.Need need;

        private final String path;

        KeyCheck(AccessRule.Need need, String path) {
            this.need = need;
            this.path = path;
        }

        @Override
        public void handle(RoutingContext ctx) {
            admit(ctx, need, path);
        }
    }

    /** JSON bodies for the errors the router itself raises. */
    void errors(Router r) {
        r.errorHandler(413, ctx -> GatewayErrors.reply(ctx, 413, "The request body is larger than max_body_bytes ("
                + maxBodyBytes + " bytes)", "max_body_bytes"));
    }

    private void admit(RoutingContext ctx, AccessRule.Need need, String route) {
        var remote = ctx.request().remoteAddress();
        AccessRule.Verdict v = rule.check(need, ctx.request().getHeader("Authorization"),
                remote != null && loopback.test(remote.hostAddress()));
        if (v.allowed()) {
            ctx.next();
            return;
        }
        Counter.builder(Meters.HTTP_UNAUTHORIZED).description("HTTP requests refused for missing or wrong keys")
                .tag("role", "gateway").tag("route", route).tag("status", Integer.toString(v.status()))
                .register(meters).increment(); // the worker's refusals have the same tag keys (one JVM, one registry)
        if (v.status() == 401) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
        }
        GatewayErrors.reply(ctx, v.status(), v.message(), null);
    }
}
