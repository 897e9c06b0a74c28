package dev.tandem.transfer.nixl;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tests of the nixl backend need UCX (Debian's libucx0): they skip, saying why, where it is missing, except where
 * {@code TANDEM_REQUIRE_UCX=1} (CI, which installs it) makes that a failure.
 */
public final class UcxAssume {
    private UcxAssume() {
    }

    /**
     * Agents on one host connect through UCX's shared-memory transports (sysv/posix for messages, cma for bulk data),
     * as UCX reports the endpoint's lanes ({@code UcxLanes}), unless UCX_TLS narrows the choice (then nothing is
     * asserted but that there are lanes).
     */
    public static void assertSharedMemory(String lanes) {
        assertTrue(lanes != null && !lanes.isEmpty() && !lanes.equals("(no lanes)"), "no UCX lanes: " + lanes);
        if (System.getenv("UCX_TLS") == null) {
            assertTrue(lanes.matches(".*\\b(sysv|posix)/memory\\(am\\b.*") && lanes.contains("cma/memory(")
                    && !lanes.contains("tcp/"), "same-host agents should use UCX shared memory, got: " + lanes);
        }
    }

    /**
     * One-sided operations between same-host agents on memory UCX allocated take a shared-memory RMA lane (a plain
     * copy into the peer's sysv/posix segment), not active-message emulation: every RMA lane of the connection is
     * sysv/posix, and {@code rmaPath} (the lane UCX resolves for the region's key) is one of them. Nothing is asserted
     * but that there is a path when UCX_TLS narrows the choice.
     */
    public static void assertRmaOnSharedMemory(String lanes, String rmaPath) {
        assertTrue(rmaPath != null && !rmaPath.isEmpty(), "no RMA path: " + rmaPath);
        if (System.getenv("UCX_TLS") == null) {
            java.util.List<String> rma = java.util.Arrays.stream(lanes.split(" "))
                    .filter(l -> l.matches(".*[(,]rma[,)].*")).toList();
            assertTrue(!rma.isEmpty() && rma.stream().allMatch(l -> l.matches("(sysv|posix)/memory\\(.*")),
                    "the RMA lanes should be UCX shared memory, got: " + lanes);
            assertTrue(rmaPath.matches("(sysv|posix)/memory"), "puts should take a shared-memory RMA lane, got "
                    + rmaPath + " (lanes " + lanes + ")");
        }
    }

    /**
     * As {@link #assertRmaOnSharedMemory} for a logged line's text ({@link #loggedLanes}): {@code <lanes>; one-sided
     * ops to its memory via [<path>, …]}, every path a shared-memory RMA lane.
     */
    public static void assertLoggedRmaOnSharedMemory(String logged) {
        String marker = "; one-sided ops to its memory via [";
        int i = logged.indexOf(marker);
        assertTrue(i > 0 && logged.endsWith("]"), "no RMA path in: " + logged);
        for (String path : logged.substring(i + marker.length(), logged.length() - 1).split(", ")) {
            assertRmaOnSharedMemory(logged.substring(0, i), path);
        }
    }

    /** The UCX transports a worker's log says its agent used ("UCX transports …" lines); fails if there are none. */
    public static java.util.List<String> loggedLanes(java.nio.file.Path log) throws java.io.IOException {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String line : java.nio.file.Files.readAllLines(log)) {
            int i = line.indexOf(": UCX transports ");
            if (i >= 0 && line.contains("nixl agent")) {
                out.add(line.substring(i + ": UCX transports ".length()).trim());
            }
        }
        assertTrue(!out.isEmpty(), "no 'UCX transports' line in " + log);
        return out;
    }

    public static void ucx() {
        String why = Ucx.unavailableReason();
        if (why != null && "1".equals(System.getenv("TANDEM_REQUIRE_UCX"))) {
            fail("TANDEM_REQUIRE_UCX=1 but " + why);
        }
        assumeTrue(why == null, why);
    }
}
