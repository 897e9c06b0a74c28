package dev.tandem.bus;

import dev.tandem.config.ClusterSecret;
import dev.tandem.metrics.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Proof of the cluster secret on every control message that crosses the event bus (OSS Hazelcast lets any host
 * that reaches its port join the cluster and send anything; these signatures are what a receiver trusts).
 *
 * <p>An envelope is {@code {"payload": "<the message as JSON text>", "ts": millis, "nonce": base64, "mac": base64}};
 * the MAC is HMAC-SHA256 over the destination address, the timestamp, the nonce and the payload's exact text, so a
 * message cannot be altered, redirected to another address, or accepted twice: envelopes older (or newer) than the
 * window are stale, and each receiver remembers the nonces it accepted within the window. A reply is sealed to the
 * nonce of the request it answers. Registry records (signed data at rest in the cluster map) carry a MAC over their
 * kind and payload only. Every refusal is counted in {@code tandem_bus_rejected_total{reason}}.
 */
public final class BusSigner {
    /** Envelopes whose timestamp is further than this from the receiver's clock are refused (clock skew + delay). */
    public static final long DEFAULT_WINDOW_MS = 60_000;
    private static final int MAX_REMEMBERED = 500_000;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder B64D = Base64.getDecoder();

    private final ClusterSecret secret;
    private final long windowMs;
    private final LongSupplier clock;
    private final MeterRegistry meters;
    private final Map<String, Long> seen = new ConcurrentHashMap<>();

    public BusSigner(ClusterSecret secret, MeterRegistry meters) {
        this(secret, DEFAULT_WINDOW_MS, System::currentTimeMillis, meters);
    }

    public BusSigner(ClusterSecret secret, long windowMs, LongSupplier clock, MeterRegistry meters) {
        this.secret = secret;
        this.windowMs = windowMs;
        this.clock = clock;
        this.meters = meters;
    }

    /** Wraps {@code body}, bound for {@code address}, in a fresh signed envelope. */
    public JsonObject seal(String address, JsonObject body) {
        String nonce = nonce();
        String payload = body.encode();
        long ts = clock.getAsLong();
        return new JsonObject().put("payload", payload).put("ts", ts).put("nonce", nonce)
                .put("mac", B64.encodeToString(secret.mac(address, Long.toString(ts), nonce, payload)));
    }

    /** The message inside an envelope received on {@code address}; a {@link Rejected} when it must not be trusted. */
    public JsonObject open(String address, Object envelope) {
        return openChecked(address, envelope);
    }

    /** The reply to {@code request} (an envelope this process sealed), sealed to the request's nonce. */
    public JsonObject sealReply(JsonObject request, JsonObject body) {
        return seal(replyAddress(request), body);
    }

    /** Opens the reply to {@code request}. */
    public JsonObject openReply(JsonObject request, Object reply) {
        return openChecked(replyAddress(request), reply);
    }

    private static String replyAddress(JsonObject request) {
        return "reply:" + request.getString("nonce", "");
    }

    private JsonObject openChecked(String address, Object envelope) {
        if (!(envelope instanceof JsonObject e)) {
            throw reject("malformed", "not a signed envelope");
        }
        Object payload = e.getValue("payload");
        Object ts = e.getValue("ts");
        Object nonce = e.getValue("nonce");
        Object mac = e.getValue("mac");
        if (!(payload instanceof String p) || !(ts instanceof Number t) || !(nonce instanceof String n)
                || !(mac instanceof String m) || n.length() > 64 || m.length() > 64) {
            throw reject("unsigned", "message carries no valid signature fields");
        }
        checkMac(secret.mac(address, Long.toString(t.longValue()), n, p), m);
        fresh(t.longValue(), n);
        return json(p);
    }

    /** Refuses unless {@code received} (base64) is {@code expected}, compared in constant time. */
    private void checkMac(byte[] expected, String received) {
        byte[] mac;
        try {
            mac = B64D.decode(received);
        } catch (IllegalArgumentException bad) {
            throw reject("malformed", "signature is not base64");
        }
        if (!ClusterSecret.equal(expected, mac)) {
            throw reject("bad_signature", "signature does not match (another cluster secret, or altered)");
        }
    }

    private JsonObject json(String payload) {
        try {
            return new JsonObject(payload);
        } catch (DecodeException bad) {
            throw reject("malformed", "payload is not a JSON object");
        }
    }

    /** Signs a record kept at rest (a registry entry) under {@code kind}; no freshness. */
    public JsonObject signRecord(String kind, JsonObject body) {
        String payload = body.encode();
        return new JsonObject().put("payload", payload).put("mac", B64.encodeToString(secret.mac(kind, payload)));
    }

    /** The record inside {@code signed}, or a {@link Rejected}. */
    public JsonObject openRecord(String kind, Object signed) {
        if (!(signed instanceof JsonObject s) || !(s.getValue("payload") instanceof String p)
                || !(s.getValue("mac") instanceof String m)) {
            throw reject("unsigned", "record carries no signature");
        }
        checkMac(secret.mac(kind, p), m);
        return json(p);
    }

    /** Header names of a signed binary message (KV-event batches travel as msgpack, not JSON). */
    public static final String H_TS = "tandem-ts";
    public static final String H_NONCE = "tandem-nonce";
    public static final String H_MAC = "tandem-mac";

    /**
     * Signs a binary message bound for {@code address}: adds {@value #H_TS}, {@value #H_NONCE} and {@value #H_MAC}
     * headers to {@code options}, the MAC covering the address, every other header (sorted by name) and the body.
     */
    public DeliveryOptions signBytes(String address, DeliveryOptions options, byte[] body) {
        String ts = Long.toString(clock.getAsLong());
        String nonce = nonce();
        MultiMap h = options.getHeaders() == null ? MultiMap.caseInsensitiveMultiMap() : options.getHeaders();
        String mac = B64.encodeToString(secret.mac(address.getBytes(StandardCharsets.UTF_8),
                ts.getBytes(StandardCharsets.UTF_8), nonce.getBytes(StandardCharsets.UTF_8), canonical(h), body));
        return options.addHeader(H_TS, ts).addHeader(H_NONCE, nonce).addHeader(H_MAC, mac);
    }

    /** Checks a {@link #signBytes} signature with the same freshness and replay rules as {@link #open}. */
    public void verifyBytes(String address, MultiMap headers, byte[] body) {
        String ts = headers.get(H_TS);
        String nonce = headers.get(H_NONCE);
        String mac = headers.get(H_MAC);
        if (ts == null || nonce == null || mac == null || nonce.length() > 64 || mac.length() > 64) {
            throw reject("unsigned", "message carries no valid signature headers");
        }
        long t;
        try {
            t = Long.parseLong(ts);
        } catch (NumberFormatException bad) {
            throw reject("malformed", "signature headers are malformed");
        }
        checkMac(secret.mac(address.getBytes(StandardCharsets.UTF_8), ts.getBytes(StandardCharsets.UTF_8),
                nonce.getBytes(StandardCharsets.UTF_8), canonical(headers), body), mac);
        fresh(t, nonce);
    }

    /** The headers a MAC covers: all but the signature's own, sorted, {@code name=value} per line. */
    private static byte[] canonical(MultiMap headers) {
        TreeMap<String, String> sorted = new TreeMap<>();
        for (Map.Entry<String, String> e : headers.entries()) {
            String k = e.getKey().toLowerCase(java.util.Locale.ROOT);
            if (!k.equals(H_TS) && !k.equals(H_NONCE) && !k.equals(H_MAC)) {
                sorted.merge(k, e.getValue(), (a, b) -> a + "\u0000" + b);
            }
        }
        StringBuilder sb = new StringBuilder();
        sorted.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private void fresh(long t, String nonce) {
        long now = clock.getAsLong();
        if (Math.abs(now - t) > windowMs) {
            throw reject("stale", "timestamp " + t + " is more than " + windowMs + " ms from now");
        }
        if (seen.size() >= MAX_REMEMBERED) {
            forgetExpired(now);
        }
        if (seen.size() >= MAX_REMEMBERED) {
            throw reject("replay_cache_full", "too many messages within the replay window");
        }
        if (seen.putIfAbsent(nonce, t + windowMs) != null) {
            throw reject("replay", "nonce already used");
        }
    }

    private static String nonce() {
        byte[] n = new byte[16];
        RANDOM.nextBytes(n);
        return B64.encodeToString(n);
    }

    private void forgetExpired(long now) {
        for (Iterator<Map.Entry<String, Long>> it = seen.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue() < now) {
                it.remove();
            }
        }
    }

    private Rejected reject(String reason, String message) {
        if (meters != null) {
            Counter.builder(Meters.BUS_REJECTED).description("event-bus messages and registry records refused for "
                    + "lack of a valid cluster-secret signature").tag("reason", reason).register(meters).increment();
        }
        return new Rejected(reason, message);
    }

    /** Thrown when a message or record must not be trusted; {@code reason} is the metric's tag. */
    public static final class Rejected extends RuntimeException {
        private final String reason;

        Rejected(String reason, String message) {
            super("refused unauthenticated bus message (" + reason + "): " + message);
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }
}
