package dev.tandem.gateway;

import dev.tandem.bus.BusSigner;
import dev.tandem.config.GatewayConfig;
import dev.tandem.metrics.MetricsSetup;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.Router;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The PD load balancer: SGLang's mini-LB routes plus {@code /get_loads}, {@code /list_workers} and
 * {@code /metrics}, each behind {@link HttpGuard} (keys, body limit). Workers come from the command line,
 * {@code /register} and signed announcements on {@code tandem.workers}, all into the cluster-wide, signed registry.
 */
public final class GatewayVerticle extends VerticleBase {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayVerticle.class);

    private GatewayConfig config; // null until start() when deployed by the Vert.x launcher
    private final Predicate<String> loopback;
    private WorkerRegistry registry;
    private WorkerHealth health;
    private LoadLog loadLog;
    private Announcements announcements;
    private CacheAwareSetup cacheAware;
    private HttpServer server;

    public GatewayVerticle(GatewayConfig config) {
        this(config, AccessRule::loopbackAddress);
    }

    /**
     * For the Vert.x launcher ({@code VertxApplication dev.tandem.gateway.GatewayVerticle -cluster -conf
     * conf/gateway.json}): the config comes from {@code config()}, validated as the {@code gateway} command's is.
     */
    public GatewayVerticle() {
        this(null, AccessRule::loopbackAddress);
    }

    /** {@code loopback}: which caller addresses count as this host's (tests stand in for a remote caller). */
    GatewayVerticle(GatewayConfig config, Predicate<String> loopback) {
        this.config = config;
        this.loopback = loopback;
    }

    @Override
    public Future<?> start() {
        if (config == null) {
            config = GatewayConfig.from(config().getMap(), dev.tandem.config.Args.parse(new String[0],
                    java.util.Set.of()));
        }
        HttpClient http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(2000),
                new PoolOptions().setHttp1MaxSize(256));
        WorkerClient workers = new WorkerClient(vertx, http, config.workerKeys());
        BusSigner signer = new BusSigner(config.security().secret(), MetricsSetup.registry());
        registry = new WorkerRegistry(vertx, signer, (long) (config.registryTtlS() * 1000), System::currentTimeMillis);
        health = new WorkerHealth(vertx, workers, registry, config.healthFailures(), config.breaker());
        announcements = new Announcements(vertx, signer, registry, health);
        return CacheAwareSetup.start(vertx, config, registry, health).compose(ca -> {
            cacheAware = ca;
            Router r = routes(http, workers, ca);
            announcements.start();
            return registry.start(health::routable, health::forget).compose(v -> Future.all(seed())).compose(v -> {
                health.start((long) (config.healthIntervalS() * 1000));
                loadLog = new LoadLog(vertx, registry, health);
                loadLog.start((long) (config.logIntervalS() * 1000));
                return vertx.createHttpServer().requestHandler(r).listen(config.port(), config.host());
            });
        }).onSuccess(s -> {
            server = s;
            LOG.info("gateway listening on http://{}:{} (prefill policy {}, decode policy {}; {})", config.host(),
                    s.actualPort(), config.prefillPolicy(), config.decodePolicy(), config.security());
        });
    }

    private Router routes(HttpClient http, WorkerClient workers, CacheAwareSetup ca) {
        GatewayMetrics metrics = new GatewayMetrics(MetricsSetup.registry());
        PdRouter router = new PdRouter(vertx, http, workers, registry, health, ca.policy(config.prefillPolicy()),
                ca.policy(config.decodePolicy()), (long) (config.timeoutS() * 1000), metrics, ca.prompts(),
                config.limits().maxBatchItems());
        FanOutRoutes fan = new FanOutRoutes(workers, registry, health);
        RegistryRoutes reg = new RegistryRoutes(registry, health, MetricsSetup.registry(), ca.index());
        HttpGuard guard = new HttpGuard(AccessRule.of(config.security()), loopback, config.limits().maxBodyBytes(),
                MetricsSetup.registry());

        Router r = Router.router(vertx);
        guard.errors(r);
        guard.route(r, HttpMethod.POST, "/generate", router::handle);
        guard.route(r, HttpMethod.POST, "/v1/completions", router::handle);
        guard.route(r, HttpMethod.POST, "/v1/chat/completions", router::handle);
        guard.route(r, HttpMethod.GET, "/health", reg::health);
        guard.route(r, HttpMethod.GET, "/health_generate", fan::healthGenerate);
        guard.route(r, HttpMethod.POST, "/flush_cache", fan::flushCache);
        guard.route(r, HttpMethod.GET, "/get_server_info", fan::serverInfo);
        guard.route(r, HttpMethod.GET, "/get_model_info", fan::modelInfo);
        guard.route(r, HttpMethod.GET, "/v1/models", fan::models);
        guard.route(r, HttpMethod.POST, "/register", reg::register);
        guard.route(r, HttpMethod.GET, "/get_loads", reg::loads);
        guard.route(r, HttpMethod.GET, "/list_workers", reg::listWorkers);
        guard.route(r, HttpMethod.GET, "/metrics", reg::metrics);
        return r;
    }

    /** Workers named on the command line: kept for this gateway's lifetime. */
    private List<Future<Boolean>> seed() {
        List<Future<Boolean>> adds = new ArrayList<>();
        for (int i = 0; i < config.prefill().size(); i++) {
            adds.add(registry.add(new WorkerEntry("prefill", config.prefill().get(i),
                    config.prefillBootstrapPorts().get(i)), false));
        }
        for (String d : config.decode()) {
            adds.add(registry.add(new WorkerEntry("decode", d, null), false));
        }
        return adds;
    }

    public int port() {
        return server.actualPort();
    }

    /** The {@code --log-interval} logger (null before start). */
    LoadLog loadLog() {
        return loadLog;
    }

    @Override
    public Future<?> stop() {
        health.stop();
        if (loadLog != null) {
            loadLog.stop();
        }
        registry.stop();
        announcements.stop();
        if (cacheAware != null) {
            cacheAware.stop();
        }
        return Future.succeededFuture();
    }
}
