package dev.tandem.gateway;

import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.config.GatewayConfig;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --log-interval}: launch_lb's flag, here a periodic log line of every worker's health and load. */
@ExtendWith(VertxExtension.class)
class GatewayLoadLogTest {

    private static void await(BooleanSupplier cond, String what) throws InterruptedException {
        dev.tandem.Await.until(what, java.time.Duration.ofSeconds(10), cond);
    }

    @Test
    void logsEveryWorkersHealthAndLoadEachInterval(Vertx vertx) throws Exception {
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        MockWorker d = new MockWorker("decode", 0, 0, 4);
        p.load(3);
        d.load(5);
        var s = GatewayMockTest.setup(vertx, List.of(p), List.of(d), "--log-interval", "0.1");
        LoadLog log = s.gateway().loadLog();
        String healthy = "workers: prefill [" + p.url() + " healthy load=3 in_flight=0] decode [" + d.url()
                + " healthy load=5 in_flight=0]";
        await(() -> healthy.equals(log.last()), "a line with both workers' loads: " + log.last());
        long lines = log.lines();
        await(() -> log.lines() >= lines + 2, "again every interval");
        vertx.undeploy(d.deploymentID()).await();
        await(() -> log.last().contains(d.url() + " unhealthy load=5 in_flight=0"),
                "a stopped worker shows unhealthy: " + log.last());
    }

    @Test
    void offByDefaultAsInSglang(Vertx vertx) throws Exception {
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        MockWorker d = new MockWorker("decode", 0, 0, 4);
        var s = GatewayMockTest.setup(vertx, List.of(p), List.of(d));
        Thread.sleep(300);
        assertEquals(0, s.gateway().loadLog().lines());
        assertNull(s.gateway().loadLog().last());
    }

    @Test
    void theFlagIsValidatedUnderSglangsName() {
        assertEquals(5.0, GatewayConfig.from(Args.parse(new String[] {"--log-interval", "5"}, Set.of()))
                .logIntervalS());
        assertEquals(2.0, GatewayConfig.from(Map.of("log_interval", 2), Args.parse(new String[0], Set.of()))
                .logIntervalS());
        assertEquals(0.0, GatewayConfig.from(Args.parse(new String[0], Set.of())).logIntervalS());
        for (String bad : new String[] {"-1", "0.001", "1e9"}) {
            ConfigException e = assertThrows(ConfigException.class,
                    () -> GatewayConfig.from(Args.parse(new String[] {"--log-interval", bad}, Set.of())));
            assertTrue(e.getMessage().contains("--log-interval") && e.getMessage().contains("0 (no load log)"),
                    e.getMessage());
        }
        ConfigException nan = assertThrows(ConfigException.class,
                () -> GatewayConfig.from(Args.parse(new String[] {"--log-interval", "often"}, Set.of())));
        assertTrue(nan.getMessage().contains("--log-interval") && nan.getMessage().contains("often"),
                nan.getMessage());
        ConfigException json = assertThrows(ConfigException.class,
                () -> GatewayConfig.from(Map.of("log_interval", "5"), Args.parse(new String[0], Set.of())));
        assertTrue(json.getMessage().contains("log_interval"), json.getMessage());
    }
}
