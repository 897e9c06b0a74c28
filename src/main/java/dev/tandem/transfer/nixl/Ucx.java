package dev.tandem.transfer.nixl;

/**
 * Whether UCX can be used in this process: jucx bundles its JNI library but links the system's UCX ({@code
 * libucp.so.0}, {@code libuct.so.0}, {@code libucs.so.0}, Debian's {@code libucx0}). Probed once, on first use, so
 * that a worker asked for nixl fails at start naming what is missing, and mooncake never touches UCX.
 */
public final class Ucx {
    private static volatile String problem;
    private static volatile boolean probed;

    private Ucx() {
    }

    /** Null when UCX loads, else why not and how to fix it. */
    public static synchronized String unavailableReason() {
        if (!probed) {
            problem = probe();
            probed = true;
        }
        return problem;
    }

    public static boolean available() {
        return unavailableReason() == null;
    }

    /** Throws, naming what is missing, when UCX cannot load. */
    public static void require() {
        String why = unavailableReason();
        if (why != null) {
            throw new IllegalStateException(why);
        }
    }

    /** A UCX context with RMA, active messages and wake-up events, on {@code tls} ({@code UCX_TLS} syntax; null: UCX's choice). */
    static org.openucx.jucx.ucp.UcpContext context(String tls) {
        // wake-up: an idle agent sleeps on the worker's event fd and an incoming message wakes it (Driver)
        var params = new org.openucx.jucx.ucp.UcpParams().requestRmaFeature().requestAmFeature()
                .requestWakeupFeature();
        if (tls != null) {
            params.setConfig("TLS", tls);
        }
        // UCX 1.13 emulates RMA over tcp with 8 KB segments; 1 MB segments move KV 3-5x faster (bench-transfer).
        // UCX_TCP_TX_SEG_SIZE / UCX_TCP_RX_SEG_SIZE in the environment still win.
        for (String seg : new String[] {"TX_SEG_SIZE", "RX_SEG_SIZE"}) {
            if (System.getenv("UCX_TCP_" + seg) == null && (tls == null || tls.contains("tcp"))) {
                params.setConfig(seg, "1m");
            }
        }
        return new org.openucx.jucx.ucp.UcpContext(params);
    }

    /** A copy of {@code b}'s remaining bytes. */
    static byte[] bytes(java.nio.ByteBuffer b) {
        java.nio.ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    /** {@code parts} one after the other in a direct buffer (UCX reads it by address). */
    static java.nio.ByteBuffer direct(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.flip();
    }

    private static String probe() {
        try {
            // UcpContext's static initializer extracts libjucx.so and loads it, which loads the system's UCX
            Class.forName("org.openucx.jucx.ucp.UcpContext", true, Ucx.class.getClassLoader());
            new org.openucx.jucx.ucp.UcpParams(); // touches the native constants
            return null;
        } catch (ClassNotFoundException e) {
            return "transfer_backend nixl: the UCX Java binding (org.openucx:jucx) is not on the class path";
        } catch (LinkageError | RuntimeException e) {
            Throwable t = e.getCause() != null ? e.getCause() : e;
            return "transfer_backend nixl: UCX cannot load (" + t.getMessage() + "); it needs the system's UCX "
                    + "libraries libucp.so.0, libuct.so.0 and libucs.so.0: install Debian's libucx0 (apt-get install "
                    + "libucx0, or ./run.sh setup-ucx as root), or choose --transfer-backend mooncake";
        }
    }
}
