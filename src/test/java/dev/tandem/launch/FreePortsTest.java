package dev.tandem.launch;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.assertTrue;

class FreePortsTest {
    @Test
    void portsComeFromBelowTheEphemeralRangeAndCanBeBound() throws Exception {
        int low = FreePorts.ephemeralLow();
        assertTrue(low > 1024, "ephemeral range read: " + low);
        for (int i = 0; i < 20; i++) {
            int p = FreePorts.loopback();
            // never a port the kernel could hand to another process's port-0 bind or outgoing connection
            assertTrue(p >= 20_000 && p < low, "port " + p + " is not below the ephemeral range starting at " + low);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
            }
        }
    }
}
