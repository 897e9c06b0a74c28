package dev.tandem.transfer;

/**
 * A request's PD coordinates, injected by the load balancer: the prefill worker's bootstrap address and the room
 * that names this request's transfer on both sides.
 */
public record Bootstrap(String host, int port, long room) {
    /** SGLang's {@code FAKE_BOOTSTRAP_HOST}: requests to it use the fake transfer (warm-up, health checks). */
    public static final String FAKE_HOST = "2.2.2.2";

    public boolean fake() {
        return FAKE_HOST.equals(host);
    }

    /** {@code host:port}, the key of the prefill worker's bootstrap service (IPv6 literals bracketed). */
    public String address() {
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }
}
