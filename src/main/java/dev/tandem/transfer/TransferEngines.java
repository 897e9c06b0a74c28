package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;

/** The one place a transfer backend is chosen (SGLang's {@code --disaggregation-transfer-backend}). */
public final class TransferEngines {
    private TransferEngines() {
    }

    /**
     * @param backend   "mooncake" (shm/tcp transfer engine), "nixl" (UCX agents; fails naming what is missing
     *                  when UCX cannot load) or "fake" (moves nothing)
     * @param transport for mooncake: "auto", "shm" or "tcp"
     * @param host      the address the TCP transport binds and advertises
     * @param secret    the cluster secret: TCP peers must prove they hold it before they may write
     */
    public static TransferEngine create(String backend, String transport, String host, ClusterSecret secret) {
        return create(backend, transport, host, secret, TcpRejection.Listener.NONE);
    }

    /**
     * As above; {@code rejections} is told of each TCP peer the server drops (the worker counts them in
     * {@code tandem_transfer_tcp_peers_rejected_total{reason}}).
     */
    public static TransferEngine create(String backend, String transport, String host, ClusterSecret secret,
                                        TcpRejection.Listener rejections) {
        return create(backend, transport, "push", host, host, secret, rejections, TcpLimits.DEFAULT.ioTimeout());
    }

    /**
     * As above, binding {@code bindHost} (a wildcard binds every interface) and advertising {@code advertiseHost};
     * {@code nixlMode} for nixl: "push" (the prefill writes, SGLang) or "pull" (the decode reads, vLLM); a mooncake
     * write or acknowledgement that stalls longer than {@code ioTimeout} on a peer fails.
     */
    public static TransferEngine create(String backend, String transport, String nixlMode, String bindHost,
                                        String advertiseHost, ClusterSecret secret, TcpRejection.Listener rejections,
                                        java.time.Duration ioTimeout) {
        return switch (backend) {
            case "mooncake" -> new MooncakeTransferEngine(MooncakeTransferEngine.parseMode(transport), bindHost,
                    advertiseHost, secret, rejections, TcpLimits.DEFAULT.withIoTimeout(ioTimeout));
            case "fake" -> new FakeTransferEngine();
            // nixl: a WRITE/READ fails at the same deadline the decode side's fencing waits out
            case "nixl" -> new dev.tandem.transfer.nixl.NixlTransferEngine(advertiseHost, secret, ioTimeout.toNanos(),
                    null,
                    dev.tandem.transfer.nixl.NixlTransferEngine.Mode.valueOf(nixlMode.toUpperCase(
                            java.util.Locale.ROOT)));
            default -> throw new IllegalArgumentException("transfer_backend: unknown backend '" + backend
                    + "' (choose mooncake, nixl or fake)");
        };
    }
}
