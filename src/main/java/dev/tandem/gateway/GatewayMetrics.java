package dev.tandem.gateway;

import dev.tandem.metrics.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.TimeUnit;

/** The gateway's PD meters (sgl-router's names, §10.2): requests by outcome, duration, dispatches by route. */
final class GatewayMetrics {
    private final MeterRegistry registry;

    GatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void dispatched(String route) {
        Counter.builder(Meters.GATEWAY_DISPATCHED).tag("route", route).register(registry).increment();
    }

    void request(String outcome, long startNanos) {
        Counter.builder(Meters.GATEWAY_REQUESTS).tag("outcome", outcome).register(registry).increment();
        Timer.builder(Meters.GATEWAY_DURATION).publishPercentileHistogram().register(registry)
                .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }
}
