package dev.tandem.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cluster name a process joins under: the config file's, or {@code $TANDEM_CLUSTER_NAME} checked. */
class ClusterNameTest {
    @Test
    void overrideIsValidatedAndTheErrorNamesTheVariable() {
        assertNull(ClusterName.override(null));
        assertNull(ClusterName.override(""));
        assertEquals("tandem-test-20261201-153000-123", ClusterName.override("tandem-test-20261201-153000-123"));
        ConfigException e = assertThrows(ConfigException.class, () -> ClusterName.override("a b</cluster-name>"));
        assertTrue(e.getMessage().contains("TANDEM_CLUSTER_NAME") && e.getMessage().contains("a b</cluster-name>"),
                e.getMessage());
        assertThrows(ConfigException.class, () -> ClusterName.override("x".repeat(65)));
    }
}
