package dev.tandem.worker;

import dev.tandem.bus.BusSigner;
import dev.tandem.config.WorkerConfig;
import dev.tandem.metrics.MetricsSetup;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import org.slf4j.LoggerFactory;

/**
 * A whole worker as one deployable verticle: reads its JSON config ({@code -conf conf/worker.json} when launched
 * with {@code VertxApplication}), then deploys the {@link SchedulerVerticle} and, once the model is loaded, the
 * {@link WorkerVerticle}. Undeploying it undeploys both.
 */
public final class WorkerMainVerticle extends VerticleBase {
    private final WorkerConfig preset;
    private WorkerVerticle http;
    private Announcer announcer;

    /** For {@code VertxApplication}: the config comes from {@code config()}. */
    public WorkerMainVerticle() {
        this(null);
    }

    public WorkerMainVerticle(WorkerConfig config) {
        this.preset = config;
    }

    @Override
    public Future<?> start() {
        WorkerConfig cfg = preset != null ? preset : WorkerConfig.from(config().getMap(), null);
        // Members whose fingerprints differ hold different secrets and will refuse each other's messages.
        LoggerFactory.getLogger(WorkerMainVerticle.class).info("cluster secret: {} (fingerprint {})",
                cfg.security().secret().source(), cfg.security().secret().fingerprint());
        SchedulerVerticle scheduler = new SchedulerVerticle(cfg);
        http = new WorkerVerticle(cfg, scheduler::engine);
        return vertx.deployVerticle(scheduler).compose(id -> vertx.deployVerticle(http)).onSuccess(id -> {
            BusSigner signer = new BusSigner(cfg.security().secret(), MetricsSetup.registry());
            if (scheduler.engine().events() instanceof EventBusKvPublisher bus) {
                bus.bind("http://" + cfg.advertisedHost() + ":" + http.port(), scheduler.engine().loop(), signer);
            }
            announcer = new Announcer(vertx, cfg, http.port(), signer);
            announcer.start(cfg, cfg.workerId());
        });
    }

    @Override
    public Future<?> stop() {
        if (announcer != null) {
            announcer.close();
        }
        return Future.succeededFuture();
    }

    public int port() {
        return http.port();
    }
}
