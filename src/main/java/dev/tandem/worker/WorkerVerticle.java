package dev.tandem.worker;

import dev.tandem.config.WorkerConfig;
import dev.tandem.metrics.MetricsSetup;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Supplier;

/**
 * The worker's HTTP API: SGLang's native endpoints, OpenAI's, and metrics. Translates HTTP to calls on the engine;
 * generation runs on the scheduler thread, never on the event loop.
 */
public final class WorkerVerticle extends VerticleBase {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerVerticle.class);
    private static final long MAX_BODY = 64L << 20;

    private final WorkerConfig config;
    private final Supplier<WorkerEngine> engine;
    private HttpServer server;

    public WorkerVerticle(WorkerConfig config, Supplier<WorkerEngine> engine) {
        this.config = config;
        this.engine = engine;
    }

    @Override
    public Future<?> start() {
        WorkerEngine e = engine.get();
        Dispatcher dispatcher = new Dispatcher(vertx, e);
        GenerateRoute generate = new GenerateRoute(dispatcher);
        OpenAiRoutes openAi = new OpenAiRoutes(e, dispatcher);
        AdminRoutes admin = new AdminRoutes(e, dispatcher, MetricsSetup.registry());

        Router router = Router.router(vertx);
        router.route().handler(BodyHandler.create().setBodyLimit(MAX_BODY));
        router.post("/generate").handler(generate::handle);
        router.get("/health").handler(admin::health);
        router.get("/health_generate").handler(admin::healthGenerate);
        router.get("/get_model_info").handler(admin::modelInfo);
        router.get("/get_server_info").handler(admin::serverInfo);
        router.get("/get_load").handler(admin::load);
        router.route("/flush_cache").handler(admin::flushCache);
        router.post("/abort_request").handler(admin::abortRequest);
        router.get("/metrics").handler(admin::metrics);
        router.get("/v1/models").handler(admin::models);
        router.post("/v1/completions").handler(openAi::completions);
        router.post("/v1/chat/completions").handler(openAi::chat);
        router.route().failureHandler(ctx -> Replies.error(ctx, ctx.failure() != null ? ctx.failure()
                : new dev.tandem.api.ApiException(ctx.statusCode(), "HTTP " + ctx.statusCode(), null)));

        return vertx.createHttpServer().requestHandler(router).listen(config.port(), config.host())
                .onSuccess(s -> {
                    server = s;
                    LOG.info("worker ({} mode) listening on http://{}:{}", config.mode(), config.host(),
                            s.actualPort());
                });
    }

    /** The port actually bound (useful when the config asked for 0). */
    public int port() {
        return server.actualPort();
    }
}
