package dev.tandem.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;

/** One Prometheus registry per process, shared by Vert.x's own metrics and Tandem's. */
public final class MetricsSetup {
    private static final PrometheusMeterRegistry REGISTRY = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private MetricsSetup() {
    }

    public static PrometheusMeterRegistry registry() {
        return REGISTRY;
    }

    /** Vert.x options with HTTP and event-bus metrics going to {@link #registry()}. */
    public static VertxOptions vertxOptions() {
        return new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
                .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true)));
    }

    public static MicrometerMetricsFactory factory() {
        return new MicrometerMetricsFactory(REGISTRY);
    }

    /** A (non-clustered) Vert.x instance whose HTTP and event-bus metrics land in {@link #registry()}. */
    public static io.vertx.core.Vertx vertx() {
        return io.vertx.core.Vertx.builder().with(vertxOptions()).withMetrics(factory()).build();
    }
}
