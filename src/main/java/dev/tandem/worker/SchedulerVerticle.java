package dev.tandem.worker;

import dev.tandem.config.WorkerConfig;
import dev.tandem.metrics.MetricsSetup;
import dev.tandem.config.MetricsNames;
import dev.tandem.metrics.SglangMetrics;
import dev.tandem.metrics.WorkerMetrics;
import dev.tandem.scheduler.SchedulerObserver;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the worker's engine: loads the model off the event loop (logging each file and how long it took), starts
 * the named scheduler thread, and closes everything when undeployed. The thread is the scheduler's own, not a
 * Vert.x worker that never returns.
 */
public final class SchedulerVerticle extends VerticleBase {
    private static final Logger LOG = LoggerFactory.getLogger(SchedulerVerticle.class);
    private static final java.util.concurrent.atomic.AtomicInteger INSTANCES = new java.util.concurrent.atomic.AtomicInteger();

    private final WorkerConfig config;
    private volatile WorkerEngine engine;
    /** The hierarchical cache's meters: they read the engine, so they go when it does. */
    private volatile java.util.List<io.micrometer.core.instrument.Meter> hiCacheMeters = java.util.List.of();

    public SchedulerVerticle(WorkerConfig config) {
        this.config = config;
    }

    @Override
    public Future<?> start() {
        LOG.info("loading {} (mode {})", config.modelPath(), config.mode());
        // Tag meters per worker: tests and the quick start run several workers in one JVM.
        String id = config.host() + ":" + config.port() + "#" + INSTANCES.incrementAndGet();
        var own = new WorkerMetrics(MetricsSetup.registry(), id).mode(config.mode());
        SchedulerObserver metrics = config.metricsNames() == MetricsNames.SGLANG
                ? new SglangMetrics(MetricsSetup.registry(), id, config.modelName(), config.mode(), own) : own;
        return vertx.executeBlocking(() -> WorkerEngine.start(config, vertx, metrics, msg -> LOG.info("{}", msg)))
                .onSuccess(e -> {
                    engine = e;
                    if (e.hiCache() != null) {
                        hiCacheMeters = dev.tandem.metrics.HiCacheMeters.register(MetricsSetup.registry(), id,
                                e.hiCache());
                    }
                    LOG.info("scheduler thread '{}' running", e.loop().threadName());
                });
    }

    /** The engine, once {@link #start()} completed. */
    public WorkerEngine engine() {
        return engine;
    }

    @Override
    public Future<?> stop() {
        WorkerEngine e = engine;
        engine = null;
        dev.tandem.metrics.HiCacheMeters.remove(MetricsSetup.registry(), hiCacheMeters);
        hiCacheMeters = java.util.List.of();
        return e == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
            e.close();
            return null;
        });
    }
}
