package dev.tandem.gateway;

import dev.tandem.config.GatewayConfig;
import dev.tandem.metrics.MetricsSetup;
import dev.tandem.bus.BusAddresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The PD load balancer: SGLang's mini-LB routes plus {@code /get_loads}, {@code /list_workers} and
 * {@code /metrics}. Workers come from the command line, {@code /register} and announcements on
 * {@code tandem.workers}, all into the cluster-wide registry.
 */
public final class GatewayVerticle extends VerticleBase {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayVerticle.class);

    private final GatewayConfig config;
    private WorkerRegistry registry;
    private WorkerHealth health;
    private CacheAwareSetup cacheAware;
    private HttpServer server;

    public GatewayVerticle(GatewayConfig config) {
        this.config = config;
    }

    @Override
    public Future<?> start() {
        WebClient web = WebClient.create(vertx);
        registry = new WorkerRegistry(vertx);
        health = new WorkerHealth(vertx, web, registry, config.healthFailures());
        return CacheAwareSetup.start(vertx, config, registry, health).compose(ca -> {
            cacheAware = ca;
            Router r = routes(web, ca);
            vertx.eventBus().<JsonObject>consumer(BusAddresses.WORKERS, m -> onAnnouncement(m.body()));
            return registry.start().compose(v -> Future.all(seed())).compose(v -> {
                health.start((long) (config.healthIntervalS() * 1000));
                return vertx.createHttpServer().requestHandler(r).listen(config.port(), config.host());
            });
        }).onSuccess(s -> {
            server = s;
            LOG.info("gateway listening on http://{}:{} (prefill policy {}, decode policy {})", config.host(),
                    s.actualPort(), config.prefillPolicy(), config.decodePolicy());
        });
    }

    private Router routes(WebClient web, CacheAwareSetup ca) {
        HttpClient http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(2000),
                new PoolOptions().setHttp1MaxSize(256));
        GatewayMetrics metrics = new GatewayMetrics(MetricsSetup.registry());
        PdRouter router = new PdRouter(vertx, http, web, registry, health, ca.policy(config.prefillPolicy()),
                ca.policy(config.decodePolicy()), (long) (config.timeoutS() * 1000), metrics, ca.prompts());
        FanOutRoutes fan = new FanOutRoutes(web, registry, health, MetricsSetup.registry(), ca.index());

        Router r = Router.router(vertx);
        r.route().handler(BodyHandler.create().setBodyLimit(64L << 20));
        r.post("/generate").handler(router::handle);
        r.post("/v1/completions").handler(router::handle);
        r.post("/v1/chat/completions").handler(router::handle);
        r.get("/health").handler(fan::health);
        r.get("/health_generate").handler(fan::healthGenerate);
        r.post("/flush_cache").handler(fan::flushCache);
        r.get("/get_server_info").handler(fan::serverInfo);
        r.get("/get_model_info").handler(fan::proxyToPrefill);
        r.get("/v1/models").handler(fan::proxyToPrefill);
        r.post("/register").handler(fan::register);
        r.get("/get_loads").handler(fan::loads);
        r.get("/list_workers").handler(fan::listWorkers);
        r.get("/metrics").handler(fan::metrics);
        return r;
    }

    /** Workers named on the command line. */
    private List<Future<Boolean>> seed() {
        List<Future<Boolean>> adds = new ArrayList<>();
        for (int i = 0; i < config.prefill().size(); i++) {
            adds.add(registry.add(new WorkerEntry("prefill", config.prefill().get(i).replaceAll("/+$", ""),
                    config.prefillBootstrapPorts().get(i))));
        }
        for (String d : config.decode()) {
            adds.add(registry.add(new WorkerEntry("decode", d.replaceAll("/+$", ""), null)));
        }
        return adds;
    }

    private void onAnnouncement(JsonObject a) {
        String mode = a.getString("mode");
        if (!"prefill".equals(mode) && !"decode".equals(mode)) {
            return; // colocated workers are not part of a PD pair
        }
        WorkerEntry w = new WorkerEntry(mode, a.getString("registry_url"), a.getInteger("bootstrap_port"));
        registry.add(w).onSuccess(isNew -> {
            if (isNew) {
                LOG.info("worker announced itself: {} {}", mode, w.url());
                health.check(w);
            }
        });
    }

    public int port() {
        return server.actualPort();
    }

    @Override
    public Future<?> stop() {
        health.stop();
        registry.stop();
        if (cacheAware != null) {
            cacheAware.stop();
        }
        return Future.succeededFuture();
    }
}
