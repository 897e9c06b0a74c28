package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.ErrorBodies;
import dev.tandem.gateway.policy.Candidate;
import dev.tandem.gateway.policy.Policy;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.WebClient;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Dual dispatch (SGLang §2.3–2.5): pick a (prefill, decode) pair by the pools' policies, inject the bootstrap
 * fields, open both connections, and only then send the same body to both. A refused connection happens before
 * anything was sent, so another pair is tried; once sent, a request is never sent again.
 */
final class PdRouter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_PAIRS = 3;

    private final Vertx vertx;
    private final HttpClient http;
    private final WebClient web;
    private final WorkerRegistry registry;
    private final WorkerHealth health;
    private final Policy prefillPolicy;
    private final Policy decodePolicy;
    private final long timeoutMs;
    private final GatewayMetrics metrics;

    PdRouter(Vertx vertx, HttpClient http, WebClient web, WorkerRegistry registry, WorkerHealth health,
             Policy prefillPolicy, Policy decodePolicy, long timeoutMs, GatewayMetrics metrics) {
        this.vertx = vertx;
        this.http = http;
        this.web = web;
        this.registry = registry;
        this.health = health;
        this.prefillPolicy = prefillPolicy;
        this.decodePolicy = decodePolicy;
        this.timeoutMs = timeoutMs;
        this.metrics = metrics;
    }

    void handle(RoutingContext ctx) {
        String path = ctx.request().path();
        boolean openAi = !path.equals("/generate");
        JsonNode parsed;
        try {
            parsed = JSON.readTree(ctx.body().asString() == null ? "" : ctx.body().asString());
        } catch (java.io.IOException e) {
            parsed = null;
        }
        if (!(parsed instanceof ObjectNode body)) {
            reply(ctx, openAi, 400, "The request body must be a JSON object");
            return;
        }
        attempt(ctx, path, body, openAi, new HashSet<>(), 1, System.nanoTime());
    }

    private void attempt(RoutingContext ctx, String path, ObjectNode body, boolean openAi, Set<String> refused,
                         int attempt, long startNanos) {
        WorkerEntry p = pick(registry.prefill(), prefillPolicy, refused);
        WorkerEntry d = pick(registry.decode(), decodePolicy, refused);
        if (p == null || d == null) {
            metrics.request("no_worker", startNanos);
            reply(ctx, openAi, 503, "no healthy " + (p == null ? "prefill" : "decode") + " worker available");
            return;
        }
        PdInjection.Injected inj = PdInjection.inject(body, !openAi, p);
        Future<HttpClientRequest> rp = http.request(new RequestOptions().setMethod(HttpMethod.POST)
                .setAbsoluteURI(p.url() + path));
        Future<HttpClientRequest> rd = http.request(new RequestOptions().setMethod(HttpMethod.POST)
                .setAbsoluteURI(d.url() + path));
        Future.join(rp, rd).onComplete(ar -> {
            if (rp.failed() || rd.failed()) {
                // Not dispatched: nothing was written. Release what we got and try another pair.
                if (rp.succeeded()) {
                    rp.result().reset();
                } else {
                    health.down(p.url());
                    refused.add(p.url());
                }
                if (rd.succeeded()) {
                    rd.result().reset();
                } else {
                    health.down(d.url());
                    refused.add(d.url());
                }
                if (attempt < MAX_PAIRS) {
                    attempt(ctx, path, body, openAi, refused, attempt + 1, startNanos);
                } else {
                    metrics.request("connect_error", startNanos);
                    reply(ctx, openAi, 503, "no worker pair accepted a connection after " + attempt + " tries");
                }
                return;
            }
            dispatch(ctx, path, inj, openAi, p, d, rp.result(), rd.result(), startNanos);
        });
    }

    private void dispatch(RoutingContext ctx, String path, PdInjection.Injected inj, boolean openAi, WorkerEntry p,
                          WorkerEntry d, HttpClientRequest toP, HttpClientRequest toD, long startNanos) {
        if (ctx.response().closed()) { // the client left while we connected: send nothing
            toP.reset();
            toD.reset();
            metrics.request("cancelled", startNanos);
            return;
        }
        boolean stream = inj.body().path("stream").asBoolean(false);
        boolean logprobs = !openAi && PdInjection.wantsLogprobs(inj.body());
        long[] timer = {-1};
        Exchange[] x = new Exchange[1];
        x[0] = new Exchange(ctx.response(), openAi, stream, logprobs, p.url(), d.url(), url -> abort(url, inj.rids()),
                () -> {
                    vertx.cancelTimer(timer[0]);
                    metrics.request(x[0].outcome(), startNanos);
                });
        timer[0] = vertx.setTimer(timeoutMs, t -> x[0].cancel(504, "request timed out after " + timeoutMs / 1000
                + " s"));
        // Vert.x Web fails the end handlers when the connection closes before the response ended.
        ctx.addEndHandler(ar -> {
            if (ar.failed()) {
                x[0].cancel(499, "client disconnected");
            }
        });
        Buffer payload = Buffer.buffer(inj.body().toString());
        toP.putHeader("Content-Type", "application/json").send(payload).onComplete(x[0]::onPrefill);
        toD.putHeader("Content-Type", "application/json").send(payload).onComplete(x[0]::onDecode);
        metrics.dispatched(path);
    }

    private WorkerEntry pick(List<WorkerEntry> pool, Policy policy, Set<String> refused) {
        List<Candidate> c = health.candidates(pool).stream().filter(x -> !refused.contains(x.url())).toList();
        if (c.isEmpty()) {
            return null;
        }
        String url = policy.pick(c).url();
        return pool.stream().filter(w -> w.url().equals(url)).findFirst().orElse(null);
    }

    /** {@code POST /abort_request} for each rid (batch items, or the OpenAI request's id prefix). */
    private void abort(String url, List<String> rids) {
        for (String rid : rids) {
            web.postAbs(url + "/abort_request").sendJsonObject(new JsonObject().put("rid", rid));
        }
    }

    static void reply(RoutingContext ctx, boolean openAi, int status, String message) {
        if (!ctx.response().ended() && !ctx.response().closed()) {
            ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                    .end((openAi ? ErrorBodies.openAiBody(status, message, null) : ErrorBodies.nativeBody(message))
                            .toString());
        }
    }
}
