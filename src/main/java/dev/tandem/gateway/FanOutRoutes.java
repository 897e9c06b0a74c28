package dev.tandem.gateway;

import dev.tandem.api.ApiException;
import dev.tandem.api.ErrorBodies;
import dev.tandem.gateway.policy.PrefixIndex;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

import java.util.ArrayList;
import java.util.List;

/** The gateway's endpoints besides generation: health, fan-out, proxies, the registry and metrics. */
final class FanOutRoutes {
    private final WebClient web;
    private final WorkerRegistry registry;
    private final WorkerHealth health;
    private final PrometheusMeterRegistry meters;
    private final PrefixIndex index;

    /** {@code index}: cache_aware's view of the workers' prefix caches, shown by /list_workers; null without. */
    FanOutRoutes(WebClient web, WorkerRegistry registry, WorkerHealth health, PrometheusMeterRegistry meters,
                 PrefixIndex index) {
        this.web = web;
        this.registry = registry;
        this.health = health;
        this.meters = meters;
        this.index = index;
    }

    private List<WorkerEntry> all() {
        List<WorkerEntry> all = new ArrayList<>(registry.prefill());
        all.addAll(registry.decode());
        return all;
    }

    /** 200 once a healthy prefill and a healthy decode worker exist, 503 before. */
    void health(RoutingContext ctx) {
        long p = health.candidates(registry.prefill()).size();
        long d = health.candidates(registry.decode()).size();
        JsonObject body = new JsonObject().put("healthy_prefill", p).put("healthy_decode", d);
        json(ctx, p > 0 && d > 0 ? 200 : 503, body);
    }

    /** {@code GET /health_generate} on every worker; 200 only when all answered 200. */
    void healthGenerate(RoutingContext ctx) {
        fanOut("GET", "/health_generate").onSuccess(results -> {
            boolean ok = !results.isEmpty() && results.stream().allMatch(r -> r.getInteger("status") == 200);
            json(ctx, ok ? 200 : 503, new JsonObject().put("workers", new JsonArray(results)));
        });
    }

    /** {@code POST /flush_cache} on every worker: 200 if all flushed, 206 if some, 503 if none. */
    void flushCache(RoutingContext ctx) {
        fanOut("POST", "/flush_cache").onSuccess(results -> {
            long ok = results.stream().filter(r -> r.getInteger("status") == 200).count();
            int status = ok == results.size() && ok > 0 ? 200 : ok > 0 ? 206 : 503;
            json(ctx, status, new JsonObject().put("workers", new JsonArray(results)));
        });
    }

    /** SGLang's shape: every decode worker's internal_states, plus each worker's own info. */
    void serverInfo(RoutingContext ctx) {
        fanOut("GET", "/get_server_info").onSuccess(results -> {
            JsonArray states = new JsonArray();
            JsonArray prefill = new JsonArray();
            JsonArray decode = new JsonArray();
            for (JsonObject r : results) {
                Object body = r.getValue("body");
                boolean isPrefill = r.getString("mode").equals("prefill");
                (isPrefill ? prefill : decode).add(body);
                if (!isPrefill && body instanceof JsonObject j && j.getJsonArray("internal_states") != null) {
                    states.addAll(j.getJsonArray("internal_states"));
                }
            }
            if (states.isEmpty()) {
                states.add(new JsonObject().put("last_gen_throughput", 0.0).putNull("avg_spec_accept_length"));
            }
            json(ctx, 200, new JsonObject().put("internal_states", states).put("prefill", prefill).put("decode", decode));
        });
    }

    /** {@code /get_model_info} and {@code /v1/models}: proxied to the first healthy prefill worker. */
    void proxyToPrefill(RoutingContext ctx) {
        var c = health.candidates(registry.prefill());
        if (c.isEmpty()) {
            json(ctx, 503, ErrorBodies.nativeBody("There is no server registered"));
            return;
        }
        web.getAbs(c.get(0).url() + ctx.request().path()).send().onComplete(ar -> {
            if (ar.failed()) {
                json(ctx, 503, ErrorBodies.nativeBody("prefill worker unreachable: " + ar.cause().getMessage()));
            } else if (ar.result().statusCode() != 200) {
                json(ctx, 502, ErrorBodies.nativeBody("prefill worker answered " + ar.result().statusCode()));
            } else {
                ctx.response().putHeader("Content-Type", "application/json").end(ar.result().bodyAsBuffer());
            }
        });
    }

    /** SGLang's {@code /register}: validated, added to the cluster-wide registry (duplicates ignored). */
    void register(RoutingContext ctx) {
        WorkerEntry w;
        try {
            w = RegisterRequest.parse(new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                    ctx.body().asString() == null ? "" : ctx.body().asString()));
        } catch (ApiException e) {
            json(ctx, 400, ErrorBodies.nativeBody(e.getMessage()));
            return;
        } catch (java.io.IOException e) {
            json(ctx, 400, ErrorBodies.nativeBody("The request body is not valid JSON"));
            return;
        }
        registry.add(w).compose(isNew -> health.check(w)).onComplete(ar -> ctx.response().setStatusCode(200).end());
    }

    void loads(RoutingContext ctx) {
        json(ctx, 200, new JsonObject().put("prefill", describe(registry.prefill(), true))
                .put("decode", describe(registry.decode(), true)));
    }

    void listWorkers(RoutingContext ctx) {
        json(ctx, 200, new JsonObject().put("prefill", describe(registry.prefill(), false))
                .put("decode", describe(registry.decode(), false)));
    }

    private JsonArray describe(List<WorkerEntry> pool, boolean withLoad) {
        JsonArray a = new JsonArray();
        for (WorkerEntry w : pool) {
            JsonObject o = new JsonObject().put("url", w.url()).put("healthy", health.healthy(w.url()));
            if (w.prefill()) {
                o.put("bootstrap_port", w.bootstrapPort());
            }
            if (withLoad) {
                o.put("load", health.load(w.url()));
            } else if (index != null) {
                o.put("cached_blocks", index.size(w.url())).put("pending_blocks", index.pendingSize(w.url()));
            }
            a.add(o);
        }
        return a;
    }

    void metrics(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(meters.scrape());
    }

    /** Calls every worker; each result is {url, mode, status, body} (status 0 when unreachable). */
    private Future<List<JsonObject>> fanOut(String method, String path) {
        List<Future<JsonObject>> calls = new ArrayList<>();
        for (WorkerEntry w : all()) {
            Future<HttpResponse<Buffer>> f = method.equals("GET") ? web.getAbs(w.url() + path).send()
                    : web.postAbs(w.url() + path).send();
            calls.add(f.map(r -> new JsonObject().put("url", w.url()).put("mode", w.mode()).put("status", r.statusCode())
                    .put("body", bodyOf(r))).otherwise(e -> new JsonObject().put("url", w.url()).put("mode", w.mode())
                    .put("status", 0).put("body", e.getMessage())));
        }
        return Future.all(calls).map(cf -> {
            List<JsonObject> out = new ArrayList<>();
            calls.forEach(c -> out.add(c.result()));
            return out;
        });
    }

    private static Object bodyOf(HttpResponse<Buffer> r) {
        try {
            return r.bodyAsJsonObject();
        } catch (RuntimeException e) {
            return r.bodyAsString();
        }
    }

    private static void json(RoutingContext ctx, int status, Object body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(String.valueOf(body));
    }
}
