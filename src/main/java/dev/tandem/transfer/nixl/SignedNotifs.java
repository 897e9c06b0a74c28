package dev.tandem.transfer.nixl;

import dev.tandem.config.ClusterSecret;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The notification's wire form: an active message whose header is the notification's ASCII bytes followed by a
 * 32-byte HMAC with the cluster secret over them and the receiving agent's name (so a notification for one agent
 * cannot be replayed to another).
 */
final class SignedNotifs {
    static final int MAC_BYTES = 32;
    static final int MAX_NOTIF_BYTES = 256;
    private static final byte[] CONTEXT = "tandem-nixl-notif".getBytes(StandardCharsets.US_ASCII);

    private SignedNotifs() {
    }

    /** The header to send {@code msg} to agent {@code to} (a direct buffer UCX reads). */
    static ByteBuffer sign(ClusterSecret secret, String to, byte[] msg) {
        return Ucx.direct(msg, secret.mac(CONTEXT, to.getBytes(StandardCharsets.UTF_8), msg));
    }

    /** The notification in {@code header}, if it is well formed and signed for agent {@code self}; else null. */
    static String verify(ClusterSecret secret, String self, byte[] header) {
        if (header.length <= MAC_BYTES || header.length > MAX_NOTIF_BYTES + MAC_BYTES) {
            return null;
        }
        byte[] msg = Arrays.copyOf(header, header.length - MAC_BYTES);
        byte[] mac = Arrays.copyOfRange(header, header.length - MAC_BYTES, header.length);
        byte[] expected = secret.mac(CONTEXT, self.getBytes(StandardCharsets.UTF_8), msg);
        return ClusterSecret.equal(expected, mac) ? new String(msg, StandardCharsets.US_ASCII) : null;
    }
}
