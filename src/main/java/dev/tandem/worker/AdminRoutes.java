package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.api.ApiException;
import dev.tandem.api.ErrorBodies;
import dev.tandem.api.GenerateInput;
import dev.tandem.api.GenerationAccumulator;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.scheduler.SchedulerStats;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.ext.web.RoutingContext;

import java.util.List;

/**
 * The endpoints around generation: health, model and server info, load, flush, abort, metrics and the OpenAI
 * model list.
 */
final class AdminRoutes {
    private static final long HEALTH_TIMEOUT_MS = 20_000;

    private final WorkerEngine engine;
    private final Dispatcher dispatcher;
    private final PrometheusMeterRegistry registry;
    private final long created = System.currentTimeMillis() / 1000;

    AdminRoutes(WorkerEngine engine, Dispatcher dispatcher, PrometheusMeterRegistry registry) {
        this.engine = engine;
        this.dispatcher = dispatcher;
        this.registry = registry;
    }

    /**
     * 200 while the scheduler loop runs and comes round; 503 naming why once it stopped or has been stuck in one
     * step for {@value #MAX_STEP_SECONDS} s (longer than any forward of a chunk on a CPU), so gateways stop routing here.
     */
    void health(RoutingContext ctx) {
        String why = engine.loop().unhealthy(MAX_STEP_SECONDS * 1_000_000_000L);
        if (why == null) {
            ctx.response().setStatusCode(200).end();
        } else {
            Replies.json(ctx, 503, ErrorBodies.nativeBody(why));
        }
    }

    static final long MAX_STEP_SECONDS = 60;

    /** Runs a one-token generation; 200 if a token comes back within 20 s, else 503. */
    void healthGenerate(RoutingContext ctx) {
        String rid = "HEALTH_CHECK_" + System.nanoTime();
        // In PD modes the check uses the fake transfer (bootstrap host 2.2.2.2), as SGLang's does.
        var fake = engine.config().mode().equals("null") ? null
                : new dev.tandem.transfer.Bootstrap(dev.tandem.transfer.Bootstrap.FAKE_HOST, 0, 0);
        GenerateInput in = new GenerateInput(rid, rid, null, new int[] {0}, SamplingParams.greedy(1), List.of(), false,
                -1, 0, false, fake);
        long[] timer = {-1};
        Dispatcher.Running running = dispatcher.run(ctx, List.of(in), new Dispatcher.Listener() {
            @Override
            public void onOutput(int index, GenerationAccumulator acc) {
            }

            @Override
            public void onFailure(dev.tandem.scheduler.FinishReason f) {
                ctx.vertx().cancelTimer(timer[0]);
                Replies.json(ctx, 503, ErrorBodies.nativeBody("health generation failed: " + f.message()));
            }

            @Override
            public void onComplete(List<GenerationAccumulator> accs) {
                ctx.vertx().cancelTimer(timer[0]);
                boolean ok = !accs.get(0).finish().isAbort() && !accs.get(0).outputIds().isEmpty();
                Replies.json(ctx, ok ? 200 : 503, ok ? "" : ErrorBodies.nativeBody("health generation was aborted"));
            }
        });
        timer[0] = ctx.vertx().setTimer(HEALTH_TIMEOUT_MS, t -> {
            running.abort("health check timed out");
            Replies.json(ctx, 503, ErrorBodies.nativeBody("health check timed out"));
        });
        running.submitted().onFailure(t -> Replies.error(ctx, t));
    }

    void modelInfo(RoutingContext ctx) {
        ObjectNode o = Replies.JSON.createObjectNode();
        o.put("model_path", engine.config().modelPath().toString());
        o.put("tokenizer_path", engine.config().modelPath().toString());
        o.put("is_generation", true);
        o.putNull("preferred_sampling_params");
        o.put("weight_version", "default");
        o.put("served_model_name", engine.config().modelName());
        Replies.json(ctx, 200, o);
    }

    void serverInfo(RoutingContext ctx) {
        var c = engine.config();
        var s = engine.schedulerConfig();
        ObjectNode o = Replies.JSON.createObjectNode();
        o.put("model_path", c.modelPath().toString());
        o.put("served_model_name", c.modelName());
        o.put("disaggregation_mode", c.mode());
        if (c.mode().equals("prefill")) { // SGLang's server-args name; the gateway checks it before routing here
            o.put("disaggregation_bootstrap_port", c.pd().bootstrapPort());
        }
        o.put("host", c.host());
        o.put("port", c.port());
        o.put("backend", c.engine().backend().label());
        o.put("page_size", s.pageSize());
        o.put("max_total_num_tokens", engine.kv().allocator().totalPages() * s.pageSize());
        o.put("max_running_requests", s.maxRunningRequests());
        o.put("chunked_prefill_size", s.chunkedPrefillSize());
        o.put("context_length", s.contextLength());
        SchedulerStats st = engine.loop().stats();
        ObjectNode state = o.putArray("internal_states").addObject();
        state.put("num_running_reqs", st.running());
        state.put("num_waiting_reqs", st.waiting());
        state.put("kv_pages_used", st.usedPages());
        state.put("kv_pages_total", st.totalPages());
        state.put("prefix_cache_pages", st.cachedPages());
        state.put("prefix_cache_hit_tokens", st.cacheHitTokens());
        state.put("retracted_reqs", st.retractions());
        state.put("generated_tokens", st.generatedTokens());
        state.put("num_paused_reqs", st.paused());
        o.put("version", "tandem-0.1.0");
        Replies.json(ctx, 200, o);
    }

    void load(RoutingContext ctx) {
        Replies.json(ctx, 200, Replies.JSON.createObjectNode().put("load", engine.loop().stats().load()));
    }

    /**
     * SGLang's {@code /flush_cache}: drops the prefix cache (an {@code AllBlocksCleared} event) when the worker is
     * idle; 400 while requests are queued or running, and then nothing changes. {@code ?storage=true} also empties a
     * hierarchical cache's storage (which other workers may share); without it storage keeps its pages.
     */
    void flushCache(RoutingContext ctx) {
        String storage = ctx.request().getParam("storage");
        if (storage != null && !storage.equals("true") && !storage.equals("false")) {
            ctx.response().setStatusCode(400).end("invalid storage: " + storage + " (expected true or false)\n");
            return;
        }
        boolean all = "true".equals(storage);
        engine.loop().run(s -> s.flushCache(all)).whenComplete((idle, err) -> ctx.vertx().runOnContext(v -> {
            if (err == null && idle) {
                ctx.response().setStatusCode(200).end("Cache flushed.\n");
            } else {
                ctx.response().setStatusCode(400).end("Cache not flushed: requests are running.\n");
            }
        }));
    }

    /**
     * SGLang's {@code /abort_request}: {@code {"rid": X}} ends the request whose rid is X and the items derived from
     * it (its {@code n} copies, its OpenAI choices), never another request whose rid merely starts with X;
     * {@code {"abort_all": true}} ends everything. 200 also when nothing matched, as SGLang answers.
     */
    void abortRequest(RoutingContext ctx) {
        JsonNode body;
        try {
            body = Replies.body(ctx);
        } catch (ApiException e) {
            Replies.error(ctx, e);
            return;
        }
        JsonNode rid = body.get("rid");
        boolean all = body.path("abort_all").asBoolean(false);
        if (all) {
            engine.loop().run(s -> {
                s.abortAll("aborted by /abort_request", 499);
                return true;
            });
        } else if (rid != null && rid.isTextual() && !rid.asText().isEmpty()) {
            engine.loop().abort(rid.asText(), "aborted by /abort_request");
        } else {
            Replies.error(ctx, ApiException.badField("rid", rid, "must be a non-empty string (or set abort_all)"));
            return;
        }
        ctx.response().setStatusCode(200).end();
    }

    void metrics(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(registry.scrape());
    }

    void models(RoutingContext ctx) {
        ObjectNode o = Replies.JSON.createObjectNode();
        o.put("object", "list");
        ObjectNode m = o.putArray("data").addObject();
        m.put("id", engine.config().modelName());
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "tandem");
        m.put("root", engine.config().modelName());
        m.put("max_model_len", engine.schedulerConfig().contextLength());
        Replies.json(ctx, 200, o);
    }
}
