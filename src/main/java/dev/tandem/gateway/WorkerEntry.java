package dev.tandem.gateway;

/**
 * A worker the gateway routes to. {@code bootstrapPort} is the prefill worker's bootstrap port, or null for a
 * decode worker (or a prefill worker whose decode peers should use their own default port).
 */
public record WorkerEntry(String mode, String url, Integer bootstrapPort) {
    public boolean prefill() {
        return mode.equals("prefill");
    }

    /** The key in the cluster-wide registry: mode and URL (so duplicates collapse). */
    public String key() {
        return mode + " " + url;
    }
}
