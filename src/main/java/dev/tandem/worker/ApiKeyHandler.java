package dev.tandem.worker;

import dev.tandem.api.AccessRule;
import dev.tandem.api.ApiException;
import dev.tandem.config.SecurityConfig;
import dev.tandem.metrics.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The first handler of every request: applies {@link AccessRule} (the API key on every route but the open ones, the
 * admin key on {@code /flush_cache} and {@code /abort_request}) before any of the body is read. A refusal is a 401
 * or 403 JSON error naming what is missing, counted in {@code tandem_http_unauthorized_total{route,status}} (the
 * route tag is the path only for this router's own routes, so callers cannot mint new series).
 */
final class ApiKeyHandler implements Handler<RoutingContext> {
    /** SGLang's routes that change a worker's state for everyone. */
    static final Set<String> ADMIN_ROUTES = Set.of("/flush_cache", "/abort_request");

    private final AccessRule rule;
    private final Router router;
    private final MeterRegistry registry;
    private Set<String> known;

    ApiKeyHandler(SecurityConfig security, Router router, MeterRegistry registry) {
        // Workers keep SGLang's behaviour without an admin key: admin routes take the API key, or are open.
        this.rule = new AccessRule(security.apiKey(), security.adminApiKey(), security.openRoutes(), ADMIN_ROUTES,
                false);
        this.router = router;
        this.registry = registry;
    }

    @Override
    public void handle(RoutingContext ctx) {
        SocketAddress remote = ctx.request().remoteAddress();
        AccessRule.Decision d = rule.check(ctx.normalizedPath(), ctx.request().getHeader(HttpHeaders.AUTHORIZATION),
                remote == null ? null : remote.hostAddress());
        if (d.allowed()) {
            ctx.next();
            return;
        }
        Counter.builder(Meters.HTTP_UNAUTHORIZED).description("HTTP requests refused for a missing or wrong key")
                .tag("role", "worker").tag("route", routeTag(ctx.normalizedPath()))
                .tag("status", Integer.toString(d.status()))
                .register(registry).increment();
        if (d.status() == 401) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
        }
        Replies.errorFor(ctx, new ApiException(d.status(), d.message(), "Authorization"));
    }

    private String routeTag(String path) {
        if (known == null) {
            known = router.getRoutes().stream().map(Route::getPath).filter(Objects::nonNull)
                    .collect(Collectors.toUnmodifiableSet());
        }
        String p = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        return known.contains(p) ? p : "other";
    }
}
