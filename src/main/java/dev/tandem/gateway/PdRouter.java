package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.ApiException;
import dev.tandem.gateway.policy.Candidate;
import dev.tandem.gateway.policy.Policy;
import dev.tandem.gateway.policy.RouteRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

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
    private static final long ABORT_TIMEOUT_MS = 5000;

    private final Vertx vertx;
    private final HttpClient http;
    private final WorkerClient workers;
    private final WorkerRegistry registry;
    private final WorkerHealth health;
    private final Policy prefillPolicy;
    private final Policy decodePolicy;
    private final long timeoutMs;
    private final GatewayMetrics metrics;
    private final PromptTokens prompts;
    private final int maxBatchItems;

    /**
     * {@code prompts}: the tokenizer for policies that route on the prompt's tokens (null when none does);
     * {@code maxBatchItems}: the most sequences (batch items × n) one request may ask for.
     */
    PdRouter(Vertx vertx, HttpClient http, WorkerClient workers, WorkerRegistry registry, WorkerHealth health,
             Policy prefillPolicy, Policy decodePolicy, long timeoutMs, GatewayMetrics metrics, PromptTokens prompts,
             int maxBatchItems) {
        this.vertx = vertx;
        this.http = http;
        this.workers = workers;
        this.registry = registry;
        this.health = health;
        this.prefillPolicy = prefillPolicy;
        this.decodePolicy = decodePolicy;
        this.timeoutMs = timeoutMs;
        this.metrics = metrics;
        this.prompts = prompts;
        this.maxBatchItems = maxBatchItems;
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
        try {
            BatchCap.check(path, body, maxBatchItems);
        } catch (ApiException e) {
            GatewayErrors.reply(ctx, e.status(), e.getMessage(), e.param());
            return;
        }
        long start = System.nanoTime();
        if (prompts == null || !(prefillPolicy.usesPromptTokens() || decodePolicy.usesPromptTokens())) {
            attempt(ctx, path, body, openAi, RouteRequest.NONE, new HashSet<>(), 1, start);
        } else if (PromptTokens.idsGiven(path, body)) {
            attempt(ctx, path, body, openAi, new RouteRequest(prompts.firstPrompt(path, body)), new HashSet<>(), 1,
                    start);
        } else {
            // Tokenizing text (and rendering a chat template) grows with the prompt: milliseconds for the tens of
            // kilobytes of a long context, which would stall every connection on this event loop, so it runs on a
            // worker thread (a hop of microseconds). Unordered: requests do not wait for each other's tokenization.
            // Token ids given in the body are read inline above: no tokenizer involved.
            vertx.executeBlocking(() -> prompts.firstPrompt(path, body), false).onComplete(ar -> attempt(ctx, path,
                    body, openAi, new RouteRequest(ar.succeeded() ? ar.result() : null), new HashSet<>(), 1, start));
        }
    }

    private void attempt(RoutingContext ctx, String path, ObjectNode body, boolean openAi, RouteRequest request,
                         Set<String> refused, int attempt, long startNanos) {
        WorkerEntry p = pick(registry.prefill(), prefillPolicy, refused, request);
        WorkerEntry d = pick(registry.decode(), decodePolicy, refused, request);
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
                    health.breaker.failure(p.url());
                    refused.add(p.url());
                }
                if (rd.succeeded()) {
                    rd.result().reset();
                } else {
                    health.down(d.url());
                    health.breaker.failure(d.url());
                    refused.add(d.url());
                }
                if (attempt < MAX_PAIRS) {
                    attempt(ctx, path, body, openAi, request, refused, attempt + 1, startNanos);
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
        health.started(p.url());
        health.started(d.url());
        health.breaker.dispatched(p.url());
        health.breaker.dispatched(d.url());
        x[0] = new Exchange(ctx.response(), openAi, stream, logprobs, p.url(), d.url(), url -> abort(url, inj.rids()),
                () -> {
                    health.ended(p.url());
                    health.ended(d.url());
                    judge(x[0].outcome(), p.url(), d.url());
                    vertx.cancelTimer(timer[0]);
                    metrics.request(x[0].outcome(), startNanos);
                });
        x[0].onPrefillVerdict(ok -> {
            if (ok) {
                health.breaker.success(p.url());
            } else {
                health.breaker.failure(p.url());
            }
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
        // Fresh requests: the client's own headers (its Authorization above all) never reach a worker.
        String auth = workers.authorization(false);
        for (HttpClientRequest req : List.of(toP, toD)) {
            req.putHeader("Content-Type", "application/json");
            if (auth != null) {
                req.putHeader("Authorization", auth);
            }
        }
        toP.send(payload).onComplete(x[0]::onPrefill);
        toD.send(payload).onComplete(x[0]::onDecode);
        metrics.dispatched(path);
    }

    /**
     * Feeds the circuit breaker for the decode side (the prefill side is judged when its own answer arrives, which
     * may be after the exchange ended), and for both on a timeout.
     */
    private void judge(String outcome, String p, String d) {
        CircuitBreaker b = health.breaker;
        switch (outcome) {
            case "ok", "client_error" -> b.success(d);
            case "decode_error" -> b.failure(d);
            case "timeout" -> {
                b.failure(p);
                b.failure(d);
            }
            default -> { // the prefill side failed first, or the client left: nothing to say of the decode side
                b.release(p);
                b.release(d);
            }
        }
    }

    private WorkerEntry pick(List<WorkerEntry> pool, Policy policy, Set<String> refused, RouteRequest request) {
        List<Candidate> c = health.candidates(pool).stream().filter(x -> !refused.contains(x.url())).toList();
        if (c.isEmpty()) {
            return null;
        }
        String url = policy.pick(c, request).url();
        return pool.stream().filter(w -> w.url().equals(url)).findFirst().orElse(null);
    }

    /**
     * {@code POST /abort_request} for each rid (batch items, or the OpenAI request's id prefix), with the worker
     * admin key and a deadline.
     */
    private void abort(String url, List<String> rids) {
        for (String rid : rids) {
            workers.call(HttpMethod.POST, url, "/abort_request", new JsonObject().put("rid", rid).toBuffer(), true,
                    ABORT_TIMEOUT_MS, 4096);
        }
    }

    private static void reply(RoutingContext ctx, boolean openAi, int status, String message) {
        GatewayErrors.json(ctx, status, GatewayErrors.body(openAi, status, message, null));
    }
}
