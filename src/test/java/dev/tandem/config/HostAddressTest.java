package dev.tandem.config;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A wildcard bind never leaks into an id or an address others must reach. */
class HostAddressTest {
    @Test
    void wildcardsAreReplacedByTheAdvertisedAddress() {
        assertTrue(HostAddress.wildcard("0.0.0.0") && HostAddress.wildcard("::") && !HostAddress.wildcard("10.0.0.1"));
        assertEquals("10.1.2.3", HostAddress.advertised("0.0.0.0", "10.1.2.3", "advertise_host"));
        assertEquals("127.0.0.1", HostAddress.advertised("127.0.0.1", null, "advertise_host"));
        var e = assertThrows(ConfigException.class, () -> HostAddress.advertised("0.0.0.0", "0.0.0.0", "advertise_host"));
        assertTrue(e.getMessage().contains("advertise_host"), e.getMessage());
        String detected = HostAddress.detect();
        if (detected != null) { // a machine with a non-loopback IPv4 interface
            assertEquals(detected, HostAddress.advertised("0.0.0.0", null, "advertise_host"));
            assertFalse(HostAddress.wildcard(detected) || detected.startsWith("127."));
        }
    }

    @Test
    void aWorkerBoundToEveryInterfaceNamesItselfByItsAdvertisedAddress() {
        WorkerConfig c = WorkerConfig.from(Map.of(), Args.parse(new String[] {"--model", "src", "--host", "0.0.0.0",
                "--advertise-host", "10.9.8.7", "--port", "30005"}, Set.of()));
        assertEquals("0.0.0.0", c.host());
        assertEquals("10.9.8.7", c.advertisedHost());
        assertEquals("10.9.8.7:30005", c.workerId());
    }
}
