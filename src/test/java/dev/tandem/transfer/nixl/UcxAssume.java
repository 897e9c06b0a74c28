package dev.tandem.transfer.nixl;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tests of the nixl backend need UCX (Debian's libucx0): they skip, saying why, where it is missing, except where
 * {@code TANDEM_REQUIRE_UCX=1} (CI, which installs it) makes that a failure.
 */
public final class UcxAssume {
    private UcxAssume() {
    }

    public static void ucx() {
        String why = Ucx.unavailableReason();
        if (why != null && "1".equals(System.getenv("TANDEM_REQUIRE_UCX"))) {
            fail("TANDEM_REQUIRE_UCX=1 but " + why);
        }
        assumeTrue(why == null, why);
    }
}
