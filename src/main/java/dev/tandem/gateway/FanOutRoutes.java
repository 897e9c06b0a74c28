package dev.tandem.gateway;

import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The routes that ask every worker (or one) and answer for them: {@code /health_generate}, {@code /flush_cache},
 * {@code /get_server_info}, {@code /get_model_info} and {@code /v1/models}. Every call has a deadline and a cap on
 * what is read, and the answer holds only what {@link WorkerShapes} knows of a worker's shape (with the worker's
 * URL, its status and, for a failure, a short sanitized reason), never a worker's raw body. Only confirmed workers
 * are called (see {@link WorkerHealth}); the others are listed with the reason.
 */
final class FanOutRoutes {
    private static final long INFO_TIMEOUT_MS = 5000;
    private static final long FLUSH_TIMEOUT_MS = 10_000;
    /** Longer than a worker's own health generation (20 s), so its verdict, not ours, decides. */
    private static final long HEALTH_GENERATE_TIMEOUT_MS = 25_000;
    private static final int MAX_BYTES = 256 << 10;

    private final WorkerClient client;
    private final WorkerRegistry registry;
    private final WorkerHealth health;

    FanOutRoutes(WorkerClient client, WorkerRegistry registry, WorkerHealth health) {
        this.client = client;
        this.registry = registry;
        this.health = health;
    }

    /** {@code GET /health_generate} on every worker; 200 only when all answered 200. */
    void healthGenerate(RoutingContext ctx) {
        fanOut(HttpMethod.GET, "/health_generate", false, HEALTH_GENERATE_TIMEOUT_MS, null).onSuccess(results -> {
            boolean ok = !results.isEmpty() && results.stream().allMatch(r -> r.getInteger("status") == 200);
            GatewayErrors.json(ctx, ok ? 200 : 503, new JsonObject().put("workers", new JsonArray(results)));
        });
    }

    /** {@code POST /flush_cache} on every worker (with the worker admin key): 200 if all flushed, 206 if some. */
    void flushCache(RoutingContext ctx) {
        fanOut(HttpMethod.POST, "/flush_cache", true, FLUSH_TIMEOUT_MS, null).onSuccess(results -> {
            long ok = results.stream().filter(r -> r.getInteger("status") == 200).count();
            int status = ok == results.size() && ok > 0 ? 200 : ok > 0 ? 206 : 503;
            GatewayErrors.json(ctx, status, new JsonObject().put("workers", new JsonArray(results)));
        });
    }

    /** SGLang's shape: every decode worker's internal_states, plus each worker's own info (known fields only). */
    void serverInfo(RoutingContext ctx) {
        fanOut(HttpMethod.GET, "/get_server_info", false, INFO_TIMEOUT_MS, WorkerShapes::serverInfo)
                .onSuccess(results -> {
                    JsonArray states = new JsonArray();
                    JsonArray prefill = new JsonArray();
                    JsonArray decode = new JsonArray();
                    for (JsonObject r : results) {
                        JsonObject info = r.getJsonObject("info", new JsonObject()).put("url", r.getString("url"));
                        if (r.containsKey("error")) {
                            info.put("error", r.getString("error"));
                        }
                        boolean isPrefill = r.getString("mode").equals("prefill");
                        (isPrefill ? prefill : decode).add(info);
                        if (!isPrefill && info.getValue("internal_states") instanceof JsonArray s) {
                            states.addAll(s);
                        }
                    }
                    if (states.isEmpty()) {
                        states.add(new JsonObject().put("last_gen_throughput", 0.0).putNull("avg_spec_accept_length"));
                    }
                    GatewayErrors.json(ctx, 200, new JsonObject().put("internal_states", states)
                            .put("prefill", prefill).put("decode", decode));
                });
    }

    /** {@code /get_model_info}: the first routable prefill worker's, known fields only. */
    void modelInfo(RoutingContext ctx) {
        fromPrefill(ctx, WorkerShapes::modelInfo);
    }

    /** {@code /v1/models}: the first routable prefill worker's list, rebuilt from the known fields of each model. */
    void models(RoutingContext ctx) {
        fromPrefill(ctx, WorkerShapes::models);
    }

    private void fromPrefill(RoutingContext ctx, Function<JsonObject, JsonObject> shape) {
        var c = health.candidates(registry.prefill());
        if (c.isEmpty()) {
            GatewayErrors.reply(ctx, 503, "There is no server registered", null);
            return;
        }
        String url = c.get(0).url();
        String path = ctx.normalizedPath();
        client.call(HttpMethod.GET, url, path, null, false, INFO_TIMEOUT_MS, MAX_BYTES).onComplete(ar -> {
            JsonObject body = ar.succeeded() && ar.result().status() == 200 && !ar.result().truncated()
                    ? WorkerShapes.object(ar.result().body()) : null;
            if (body != null) {
                GatewayErrors.json(ctx, 200, shape.apply(body));
            } else {
                GatewayErrors.reply(ctx, 502, "prefill worker " + url + " " + failure(ar.succeeded() ? ar.result()
                        : null, ar.cause()), null);
            }
        });
    }

    /**
     * Calls every worker; each result is {@code {url, mode, status}} (status 0 when unreachable) with {@code info}
     * (the answer through {@code shape}, when one is given and the answer is a JSON object) or {@code error}.
     */
    private Future<List<JsonObject>> fanOut(HttpMethod method, String path, boolean admin, long timeoutMs,
                                            Function<JsonObject, JsonObject> shape) {
        List<Future<JsonObject>> calls = new ArrayList<>();
        for (WorkerEntry w : registry.all()) {
            String unconfirmed = health.unconfirmed(w);
            if (unconfirmed != null) { // not called: it has not shown it is the worker it was registered as
                calls.add(Future.succeededFuture(new JsonObject().put("url", w.url()).put("mode", w.mode())
                        .put("status", 0).put("error", "not confirmed: " + unconfirmed)));
                continue;
            }
            calls.add(client.call(method, w.url(), path, null, admin, timeoutMs, MAX_BYTES).transform(ar -> {
                JsonObject r = new JsonObject().put("url", w.url()).put("mode", w.mode())
                        .put("status", ar.succeeded() ? ar.result().status() : 0);
                JsonObject body = ar.succeeded() && !ar.result().truncated() ? WorkerShapes.object(ar.result().body())
                        : null;
                if (ar.succeeded() && ar.result().status() == 200 && (shape == null || body != null)) {
                    if (shape != null) {
                        r.put("info", shape.apply(body));
                    }
                } else {
                    r.put("error", failure(ar.succeeded() ? ar.result() : null, ar.cause()));
                }
                return Future.succeededFuture(r);
            }));
        }
        return Future.join(calls).transform(ar -> {
            List<JsonObject> out = new ArrayList<>();
            calls.forEach(c -> out.add(c.result()));
            return Future.succeededFuture(out);
        });
    }

    /** A short, sanitized account of a failed call. */
    private static String failure(WorkerClient.Reply r, Throwable cause) {
        if (r == null) {
            return "unreachable: " + WorkerShapes.message(String.valueOf(cause == null ? null : cause.getMessage()));
        }
        if (r.truncated()) {
            return "answered " + r.status() + " with a body over " + MAX_BYTES + " bytes";
        }
        return r.status() == 200 ? "answered 200 without a JSON object"
                : "answered " + r.status() + ": " + WorkerShapes.errorMessage(r.body());
    }
}
