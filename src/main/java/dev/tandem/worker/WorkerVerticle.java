package dev.tandem.worker;

import dev.tandem.api.ApiException;
import dev.tandem.api.RequestLimits;
import dev.tandem.config.InputLimits;
import dev.tandem.config.WorkerConfig;
import dev.tandem.metrics.MetricsSetup;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * The worker's HTTP API: SGLang's native endpoints, OpenAI's, and metrics. Translates HTTP to calls on the engine;
 * generation runs on the scheduler thread, never on the event loop. Every request passes, in order: the key check
 * ({@link ApiKeyHandler}), a refusal of multipart bodies (the API takes JSON; nothing is ever written to disk), and
 * the body limit ({@code max_body_bytes}, 413).
 */
public final class WorkerVerticle extends VerticleBase {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerVerticle.class);

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
        InputLimits limits = config.limits();
        Dispatcher dispatcher = new Dispatcher(vertx, e);
        GenerateRoute generate = new GenerateRoute(dispatcher, limits);
        OpenAiRoutes openAi = new OpenAiRoutes(e, dispatcher, limits);
        AdminRoutes admin = new AdminRoutes(e, dispatcher, MetricsSetup.registry());

        Router router = Router.router(vertx);
        router.route().handler(new ApiKeyHandler(config.security(), router, MetricsSetup.registry()));
        router.route().handler(WorkerVerticle::jsonBodiesOnly);
        router.route().handler(BodyHandler.create(false).setBodyLimit(limits.maxBodyBytes()));
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
        router.route().failureHandler(ctx -> Replies.errorFor(ctx, failure(ctx, limits)));

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

    /** The parsing limits of {@code limits}. */
    static RequestLimits requestLimits(InputLimits limits) {
        return new RequestLimits(limits.maxBatchItems(), limits.maxStopStrings(), limits.maxStopLength());
    }

    /**
     * Bodies are JSON whatever their declared type, as SGLang reads them. Multipart bodies (file uploads) are refused
     * before a byte of them is read; a form-encoded one ({@code curl -d} sends that type) is read as the JSON it is,
     * not decoded as a form (whose fields Netty caps at 8 KB, failing larger prompts with a 500).
     */
    private static void jsonBodiesOnly(RoutingContext ctx) {
        String type = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
        String t = type == null ? "" : type.strip().toLowerCase(Locale.ROOT);
        if (t.startsWith("multipart/")) {
            Replies.errorFor(ctx, new ApiException(415, "Unsupported Content-Type " + ApiException.abbreviate(type)
                    + ": this API takes JSON bodies; multipart uploads are refused", "Content-Type"));
            return;
        }
        if (t.startsWith("application/x-www-form-urlencoded")) {
            ctx.request().headers().set(HttpHeaders.CONTENT_TYPE, "application/json");
        }
        ctx.next();
    }

    private static Throwable failure(RoutingContext ctx, InputLimits limits) {
        if (ctx.failure() != null) {
            return ctx.failure();
        }
        if (ctx.statusCode() == 413) {
            return new ApiException(413, "The request body exceeds max_body_bytes (" + limits.maxBodyBytes()
                    + " bytes; --max-body-bytes)", "max_body_bytes");
        }
        return new ApiException(ctx.statusCode(), "HTTP " + ctx.statusCode(), null);
    }
}
