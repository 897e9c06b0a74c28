package dev.tandem.cli;

import com.hazelcast.config.Config;
import com.hazelcast.config.FileSystemXmlConfig;
import dev.tandem.config.ClusterName;
import dev.tandem.config.SecurityConfig;
import dev.tandem.metrics.MetricsSetup;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
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
        return create(cluster, host, null);
    }

    /**
     * @param tls event-bus TLS (mutual: each member presents its certificate and accepts only members whose
     *            certificate the CA file vouches for), or null for plain TCP between members
     */
    public static Vertx create(boolean cluster, String host, SecurityConfig.BusTls tls) {
        return create(cluster, host, host, tls);
    }

    /**
     * @param host          the event bus binds it (a wildcard: every interface)
     * @param advertiseHost what other members connect to (the cluster public host)
     */
    public static Vertx create(boolean cluster, String host, String advertiseHost, SecurityConfig.BusTls tls) {
        if (!cluster) {
            return MetricsSetup.vertx();
        }
        VertxOptions options = MetricsSetup.vertxOptions().setEventBusOptions(eventBusOptions(host, advertiseHost,
                tls));
        return Vertx.builder().with(options).withMetrics(MetricsSetup.factory())
                .withClusterManager(new HazelcastClusterManager(hazelcastConfig())).buildClustered().await();
    }

    static EventBusOptions eventBusOptions(String host, String advertiseHost, SecurityConfig.BusTls tls) {
        EventBusOptions bus = new EventBusOptions().setHost(host).setClusterPublicHost(advertiseHost);
        if (tls != null) {
            bus.setSsl(true)
                    .setKeyCertOptions(new PemKeyCertOptions().setKeyPath(tls.keyPath()).setCertPath(tls.certPath()))
                    .setTrustOptions(new PemTrustOptions().addCertPath(tls.caPath()))
                    .setClientAuth(ClientAuth.REQUIRED);
        }
        return bus;
    }

    /**
     * The Hazelcast config, with {@code hazelcast.socket.bind.any=false} forced (Hazelcast otherwise binds every
     * interface, 0.0.0.0, whatever {@code <interfaces>} lists, and OSS Hazelcast lets anyone who reaches its port
     * join the cluster) and the cluster named by {@code $TANDEM_CLUSTER_NAME} ({@link ClusterName}) when it is set.
     */
    static Config hazelcastConfig() {
        String path = System.getProperty("vertx.hazelcast.config", "conf/cluster.xml");
        if (!Files.isRegularFile(Path.of(path))) {
            throw new IllegalArgumentException("cluster config " + path + " not found (set -Dvertx.hazelcast.config "
                    + "or run from the repository root)");
        }
        try {
            Config c = new FileSystemXmlConfig(path);
            c.setProperty("hazelcast.socket.bind.any", "false");
            String name = ClusterName.override(System.getenv(ClusterName.ENV));
            if (name != null) {
                c.setClusterName(name);
            }
            return c;
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException("cluster config " + path + ": " + e.getMessage(), e);
        }
    }
}
