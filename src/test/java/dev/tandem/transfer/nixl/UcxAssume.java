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
