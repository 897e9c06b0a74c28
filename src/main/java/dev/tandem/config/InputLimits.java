package dev.tandem.config;

import java.util.Map;
import java.util.Set;

/**
 * Bounds on what one HTTP request may ask of a worker or gateway, so that no client can exhaust memory or stall
 * other clients. Each refusal is a 400 naming the field (or 413 for the body).
 *
 * @param maxBodyBytes       {@code --max-body-bytes}: request bodies larger than this are refused (413)
 * @param maxBatchItems      {@code --max-batch-items}: batch size × {@code n} of one request
 * @param maxStopStrings     {@code --max-stop-strings}: entries of {@code stop}
 * @param maxStopLength      {@code --max-stop-length}: characters of one stop string
 * @param sseMaxQueuedBytes  {@code --sse-max-queued-bytes}: bytes a streaming response may have queued for a slow
 *                           reader before generation pauses for it
 * @param sseStallTimeoutS   {@code --sse-stall-timeout}: seconds a paused stream may stay paused before the request
 *                           is aborted
 */
public record InputLimits(long maxBodyBytes, int maxBatchItems, int maxStopStrings, int maxStopLength,
                          int sseMaxQueuedBytes, double sseStallTimeoutS) {
    public static final Set<String> KEYS = Set.of("max_body_bytes", "max_batch_items", "max_stop_strings",
            "max_stop_length", "sse_max_queued_bytes", "sse_stall_timeout");

    public static InputLimits defaults() {
        return new InputLimits(16L << 20, 256, 64, 4096, 1 << 20, 30);
    }

    public InputLimits {
        if (maxBodyBytes < 1024) {
            throw new ConfigException("max_body_bytes", maxBodyBytes, ">= 1024");
        }
        if (maxBatchItems < 1) {
            throw new ConfigException("max_batch_items", maxBatchItems, ">= 1");
        }
        if (maxStopStrings < 0) {
            throw new ConfigException("max_stop_strings", maxStopStrings, ">= 0");
        }
        if (maxStopLength < 1) {
            throw new ConfigException("max_stop_length", maxStopLength, ">= 1");
        }
        if (sseMaxQueuedBytes < 1024) {
            throw new ConfigException("sse_max_queued_bytes", sseMaxQueuedBytes, ">= 1024");
        }
        if (!(sseStallTimeoutS > 0)) {
            throw new ConfigException("sse_stall_timeout", sseStallTimeoutS, "> 0 seconds");
        }
    }

    /** From a JSON config with flags on top; absent values take {@link #defaults()}. */
    public static InputLimits from(Map<String, Object> json, Args cli) {
        InputLimits d = defaults();
        return new InputLimits(num(json, cli, "max_body_bytes", "max-body-bytes", d.maxBodyBytes()).longValue(),
                num(json, cli, "max_batch_items", "max-batch-items", d.maxBatchItems()).intValue(),
                num(json, cli, "max_stop_strings", "max-stop-strings", d.maxStopStrings()).intValue(),
                num(json, cli, "max_stop_length", "max-stop-length", d.maxStopLength()).intValue(),
                num(json, cli, "sse_max_queued_bytes", "sse-max-queued-bytes", d.sseMaxQueuedBytes()).intValue(),
                num(json, cli, "sse_stall_timeout", "sse-stall-timeout", d.sseStallTimeoutS()).doubleValue());
    }

    private static Number num(Map<String, Object> json, Args cli, String key, String flag, Number dflt) {
        if (cli != null && cli.has(flag)) {
            String v = cli.string(flag, null);
            try {
                return Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new ConfigException("--" + flag, v, "a number");
            }
        }
        Object o = json.get(key);
        if (o == null) {
            return dflt;
        }
        if (!(o instanceof Number n)) {
            throw new ConfigException(key, o, "a number");
        }
        return n;
    }
}
