package dev.tandem.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cluster name a process joins under: the config file's, or {@code $TANDEM_CLUSTER_NAME} checked. */
class VertxFactoryTest {
    @Test
    void clusterNameOverrideIsValidatedAndNamesTheVariable() {
        assertNull(VertxFactory.clusterNameOverride(null));
        assertNull(VertxFactory.clusterNameOverride(""));
        assertEquals("tandem-test-20261201-153000-123",
                VertxFactory.clusterNameOverride("tandem-test-20261201-153000-123"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VertxFactory.clusterNameOverride("a b</cluster-name>"));
        assertTrue(e.getMessage().contains("TANDEM_CLUSTER_NAME") && e.getMessage().contains("a b</cluster-name>"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VertxFactory.clusterNameOverride("x".repeat(65)));
    }

    @Test
    void theSuiteRunsUnderItsOwnClusterName() {
        // pom.xml gives each test run its own cluster, so a quick start or a parallel run on this host is never joined
        String name = System.getenv(VertxFactory.CLUSTER_NAME_ENV);
        assertTrue(name != null && name.startsWith("tandem-test-"), "surefire did not set $TANDEM_CLUSTER_NAME: " + name);
        assertEquals(name, VertxFactory.hazelcastConfig().getClusterName());
    }
}
