package dev.tandem.cli;

import dev.tandem.config.ClusterName;
import org.junit.jupiter.api.Test;

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

    @Test
    void bindingEveryInterfaceIsForcedOff() {
        assertEquals("false", VertxFactory.hazelcastConfig().getProperty("hazelcast.socket.bind.any"));
    }
}
