package dev.tandem.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.ApiException;
import dev.tandem.gateway.policy.PrefixIndex;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;

/** The gateway's own routes about its workers: {@code /health}, {@code /register}, the lists, and metrics. */
final class RegistryRoutes {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final WorkerRegistry registry;
    private final WorkerHealth health;
    private final PrometheusMeterRegistry meters;
    private final PrefixIndex index;

    /** {@code index}: cache_aware's view of the workers' prefix caches, shown by /list_workers; null without. */
    RegistryRoutes(WorkerRegistry registry, WorkerHealth health, PrometheusMeterRegistry meters, PrefixIndex index) {
        this.registry = registry;
        this.health = health;
        this.meters = meters;
        this.index = index;
    }

    /** 200 once a routable prefill and a routable decode worker exist, 503 before. */
    void health(RoutingContext ctx) {
        long p = health.candidates(registry.prefill()).size();
        long d = health.candidates(registry.decode()).size();
        JsonObject body = new JsonObject().put("healthy_prefill", p).put("healthy_decode", d);
        GatewayErrors.json(ctx, p > 0 && d > 0 ? 200 : 503, body);
    }

    /**
     * SGLang's {@code /register}: validated, added to the cluster-wide registry (duplicates ignored), then checked
     * and confirmed at once. 200 either way ({@code confirmed} says whether it is routable yet, {@code reason} why
     * not); a worker that cannot be confirmed is never routed to and leaves the registry after the TTL.
     */
    void register(RoutingContext ctx) {
        WorkerEntry w;
        try {
            String body = ctx.body().asString();
            w = RegisterRequest.parse(JSON.readTree(body == null ? "" : body));
        } catch (ApiException e) {
            GatewayErrors.reply(ctx, 400, e.getMessage(), e.param());
            return;
        } catch (java.io.IOException e) {
            GatewayErrors.reply(ctx, 400, "The request body is not valid JSON", null);
            return;
        }
        registry.add(w, true).compose(isNew -> health.check(w)).onComplete(ar -> {
            if (ar.failed()) {
                GatewayErrors.reply(ctx, 503, "Cannot register: " + ar.cause().getMessage(), null);
                return;
            }
            String why = health.unconfirmed(w);
            JsonObject out = new JsonObject().put("url", w.url()).put("mode", w.mode()).put("confirmed", why == null);
            GatewayErrors.json(ctx, 200, why == null ? out : out.put("reason", why));
        });
    }

    void loads(RoutingContext ctx) {
        GatewayErrors.json(ctx, 200, new JsonObject().put("prefill", describe(registry.prefill(), true))
                .put("decode", describe(registry.decode(), true)));
    }

    void listWorkers(RoutingContext ctx) {
        GatewayErrors.json(ctx, 200, new JsonObject().put("prefill", describe(registry.prefill(), false))
                .put("decode", describe(registry.decode(), false)));
    }

    private JsonArray describe(List<WorkerEntry> pool, boolean withLoad) {
        JsonArray a = new JsonArray();
        for (WorkerEntry w : pool) {
            String why = health.unconfirmed(w);
            JsonObject o = new JsonObject().put("url", w.url()).put("healthy", health.healthy(w.url()))
                    .put("circuit", health.breaker.state(w.url()).name().toLowerCase(java.util.Locale.ROOT))
                    .put("confirmed", why == null);
            if (w.prefill()) {
                o.put("bootstrap_port", w.bootstrapPort());
            }
            if (withLoad) {
                o.put("load", health.load(w.url()));
            } else {
                if (why != null) {
                    o.put("unconfirmed_reason", why);
                }
                o.put("expires", registry.expires(w));
                if (index != null) {
                    o.put("cached_blocks", index.size(w.url())).put("pending_blocks", index.pendingSize(w.url()));
                }
            }
            a.add(o);
        }
        return a;
    }

    void metrics(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(meters.scrape());
    }
}
