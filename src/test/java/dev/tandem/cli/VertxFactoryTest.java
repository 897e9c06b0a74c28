package dev.tandem.cli;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import dev.tandem.config.ClusterName;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VertxFactoryTest {
    @Test
    void theSuiteRunsUnderItsOwnClusterName() {
        // pom.xml gives each test run its own cluster, so a quick start or a parallel run on this host is never joined
        String name = System.getenv(ClusterName.ENV);
        assertTrue(name != null && name.startsWith("tandem-test-"), "surefire did not set $TANDEM_CLUSTER_NAME: " + name);
        assertEquals(name, VertxFactory.hazelcastConfig().getClusterName());
    }

    /**
     * Members of another cluster hold the first ports (5701-5703 when free: another deployment, another test run);
     * this cluster's members start above them and must still find each other. With Hazelcast's default of 3 ports
     * tried per member entry they did not, and the pair stayed two clusters of one.
     */
    @Test
    void membersFindEachOtherAbovePortsHeldByAnotherCluster() throws Exception {
        List<HazelcastInstance> others = new ArrayList<>();
        Vertx a = null;
        Vertx b = null;
        try {
            for (int i = 0; i < 3; i++) {
                Config other = VertxFactory.hazelcastConfig().setClusterName("other-" + ProcessHandle.current().pid());
                others.add(Hazelcast.newHazelcastInstance(other));
            }
            a = VertxFactory.create(true, "127.0.0.1");
            b = VertxFactory.create(true, "127.0.0.1");
            HazelcastInstance any = others.getFirst();
            assertEquals(3, any.getCluster().getMembers().size(), "the other cluster formed on its own");
            String got = "";
            for (int i = 0; i < 100; i++) {
                var nodes = ((HazelcastClusterManager) ((VertxInternal) a).clusterManager()).getNodes();
                got = nodes.toString();
                if (nodes.size() == 2) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(2, ((HazelcastClusterManager) ((VertxInternal) a).clusterManager()).getNodes().size(),
                    "the two members of this cluster did not find each other: " + got);
        } finally {
            for (Vertx v : new Vertx[] {a, b}) {
                if (v != null) {
                    v.close().await();
                }
            }
            others.forEach(HazelcastInstance::shutdown);
        }
    }

    @Test
    void bindingEveryInterfaceIsForcedOff() {
        assertEquals("false", VertxFactory.hazelcastConfig().getProperty("hazelcast.socket.bind.any"));
    }
}
