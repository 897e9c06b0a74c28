package dev.tandem.launch;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for a process about to be started, which binds them itself a moment later. A port found by binding 0 comes
 * from the kernel's ephemeral range, where every process's next outgoing connection or port-0 listener (a transfer
 * server, Hazelcast's client side) may take it in that moment: a child then fails with "Address already in use".
 * So ports are drawn at random below the ephemeral range, where the kernel never hands one out by itself, and checked
 * free on loopback; only another explicit picker could still collide, with a chance of about one in ten thousand.
 */
public final class FreePorts {
    private static final int LOW = 20_000;  // above Hazelcast's 5701+ and the usual service ports
    private static final int DEFAULT_EPHEMERAL_LOW = 32_768;

    private FreePorts() {
    }

    /** A loopback port free now, outside the ephemeral range when the range leaves room below it. */
    public static int loopback() throws IOException {
        int high = ephemeralLow() - 1;
        if (high - LOW >= 1000) {
            for (int tries = 0; tries < 200; tries++) {
                int p = ThreadLocalRandom.current().nextInt(LOW, high + 1);
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p), 1);
                    return p;
                } catch (IOException taken) {
                    // in use: draw again
                }
            }
        }
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort(); // no room below the ephemeral range: the kernel's pick, racy as explained above
        }
    }

    /** The first port of the kernel's ephemeral range (Linux), or the usual default where it cannot be read. */
    static int ephemeralLow() {
        try {
            // read as lines: /proc files report size 0, and a sized read of one returned a single byte here
            String[] range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).getFirst().trim()
                    .split("\\s+");
            return Integer.parseInt(range[0]);
        } catch (IOException | RuntimeException e) {
            return DEFAULT_EPHEMERAL_LOW;
        }
    }
}
