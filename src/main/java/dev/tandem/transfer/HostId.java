package dev.tandem.transfer;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/** This host's identity for the shared-memory decision: hostname plus the kernel's boot id. */
final class HostId {
    private static final String ID = compute();

    private HostId() {
    }

    static String get() {
        return ID;
    }

    private static String compute() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown-host";
        }
        try {
            return host + "/" + Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
        } catch (IOException e) {
            return host;
        }
    }
}
