package dev.tandem.cli;

import com.hazelcast.config.Config;
import com.hazelcast.config.FileSystemXmlConfig;
import dev.tandem.metrics.MetricsSetup;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one place a process decides whether it is clustered (ARCHITECTURE: "clustering is a start-up decision
 * only"): a plain Vert.x, or one joined to the Hazelcast cluster described by {@code conf/cluster.xml} (or
 * {@code -Dvertx.hazelcast.config}), its event bus bound to {@code host}.
 */
public final class VertxFactory {
    private VertxFactory() {
    }

    public static Vertx create(boolean cluster, String host) {
        if (!cluster) {
            return MetricsSetup.vertx();
        }
        VertxOptions options = MetricsSetup.vertxOptions()
                .setEventBusOptions(new EventBusOptions().setHost(host).setClusterPublicHost(host));
        return Vertx.builder().with(options).withMetrics(MetricsSetup.factory())
                .withClusterManager(new HazelcastClusterManager(hazelcastConfig())).buildClustered().await();
    }

    private static Config hazelcastConfig() {
        String path = System.getProperty("vertx.hazelcast.config", "conf/cluster.xml");
        if (!Files.isRegularFile(Path.of(path))) {
            throw new IllegalArgumentException("cluster config " + path + " not found (set -Dvertx.hazelcast.config "
                    + "or run from the repository root)");
        }
        try {
            return new FileSystemXmlConfig(path);
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException("cluster config " + path + ": " + e.getMessage(), e);
        }
    }
}
