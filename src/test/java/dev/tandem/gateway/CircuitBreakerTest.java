package dev.tandem.gateway;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sgl-router's breaker on a manual clock: open after N failures, half-open probe after the timeout, close after M. */
class CircuitBreakerTest {
    private final AtomicLong now = new AtomicLong();
    private final CircuitBreaker b = new CircuitBreaker(3, 2, 1000, now::get);
    private static final String W = "http://10.0.0.1:30001";

    @Test
    void opensAfterConsecutiveFailuresProbesOnceHalfOpenAndClosesAfterSuccesses() {
        b.failure(W);
        b.failure(W);
        b.success(W); // a success resets the count
        b.failure(W);
        b.failure(W);
        assertTrue(b.allows(W));
        b.failure(W);
        assertEquals(CircuitBreaker.State.OPEN, b.state(W));
        assertFalse(b.allows(W));
        now.addAndGet(999);
        assertFalse(b.allows(W), "still open");
        now.addAndGet(1);
        assertEquals(CircuitBreaker.State.HALF_OPEN, b.state(W));
        assertTrue(b.allows(W));
        b.dispatched(W);
        assertFalse(b.allows(W), "one probe at a time");
        b.success(W);
        assertTrue(b.allows(W));
        b.dispatched(W);
        b.success(W);
        assertEquals(CircuitBreaker.State.CLOSED, b.state(W));
    }

    @Test
    void aFailedProbeReopensAndACancelledOneFreesTheSlot() {
        for (int i = 0; i < 3; i++) {
            b.failure(W);
        }
        now.addAndGet(1000);
        b.dispatched(W);
        b.release(W); // the client left: says nothing about the worker
        assertTrue(b.allows(W));
        b.dispatched(W);
        b.failure(W);
        assertEquals(CircuitBreaker.State.OPEN, b.state(W));
        now.addAndGet(1000);
        assertEquals(CircuitBreaker.State.HALF_OPEN, b.state(W));
        b.forget(W);
        assertEquals(CircuitBreaker.State.CLOSED, b.state(W));
    }

    @Test
    void itsFlagsAreSglRoutersAndAreValidated() {
        var c = dev.tandem.config.GatewayConfig.from(dev.tandem.config.Args.parse(new String[] {"--cb-failure-threshold",
                "4", "--cb-success-threshold", "2", "--cb-timeout-duration-secs", "7.5"}, java.util.Set.of()));
        assertEquals(new dev.tandem.config.GatewayConfig.Breaker(4, 2, 7.5), c.breaker());
        assertEquals(new dev.tandem.config.GatewayConfig.Breaker(10, 3, 60), dev.tandem.config.GatewayConfig.from(
                dev.tandem.config.Args.parse(new String[0], java.util.Set.of())).breaker());
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.tandem.config.ConfigException.class,
                () -> dev.tandem.config.GatewayConfig.from(dev.tandem.config.Args.parse(
                        new String[] {"--cb-failure-threshold", "0"}, java.util.Set.of())));
        assertTrue(e.getMessage().contains("--cb-failure-threshold"), e.getMessage());
    }
}
