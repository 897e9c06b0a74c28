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

    static {
        // SGLang's names keep their "sglang:" prefix (Prometheus allows colons; Micrometer's convention would turn it
        // into "sglang_", and SGLang's dashboards would find nothing).
        var prometheus = REGISTRY.config().namingConvention();
        REGISTRY.config().namingConvention(new io.micrometer.core.instrument.config.NamingConvention() {
            @Override
            public String name(String name, io.micrometer.core.instrument.Meter.Type type, String baseUnit) {
                return name.startsWith(SGLANG_PREFIX)
                        ? SGLANG_PREFIX + prometheus.name(name.substring(SGLANG_PREFIX.length()), type, baseUnit)
                        : prometheus.name(name, type, baseUnit);
            }

            @Override
            public String tagKey(String key) {
                return prometheus.tagKey(key);
            }

            @Override
            public String tagValue(String value) {
                return prometheus.tagValue(value);
            }
        });
    }

    /** Meter names with this prefix are SGLang's Prometheus names, exported as they are written. */
    public static final String SGLANG_PREFIX = "sglang:";

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
