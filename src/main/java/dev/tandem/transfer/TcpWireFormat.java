package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * The TCP transport's framing, big-endian. A connection starts with a mutual challenge–response over the cluster
 * secret; only then does the server read a batch.
 *
 * <pre>
 * server → client  hello  int magic "TDKA", int version 1, byte[32] serverNonce                       (40 bytes)
 * client → server  auth   int magic "TDKA", int version 1, byte[32] clientNonce, byte[32] clientMac   (72 bytes)
 *                         clientMac = HMAC(secret, "tandem-kv-auth", "client", serverNonce, clientNonce)
 * server → client  proof  int status 0, byte[32] serverMac                                             (36 bytes)
 *                         serverMac = HMAC(secret, "tandem-kv-auth", "server", serverNonce, clientNonce)
 * </pre>
 *
 * Fresh nonces on both sides make every answer single-use, and the role label keeps the server's proof from being
 * replayed as a client's. A server that gets a wrong answer closes the connection without a word; a client that
 * gets a wrong proof (an impostor, or a member with another secret) closes it before sending any KV.
 *
 * <p>Then batches: {@code int magic "TDKV", int nameLength (1..256), name (UTF-8), int opCount (0..2^20)}, then per
 * op {@code long dstOffset, long length} followed by that many raw bytes; every op must lie inside the named
 * segment. The server answers one {@code int} status after the whole batch landed (0 ok). A batch that breaks a
 * rule is answered with a negative status, if the socket takes it at once, and the connection is closed without
 * reading the rest.
 */
final class TcpWireFormat {
    static final int AUTH_MAGIC = 0x54444B41; // "TDKA"
    static final int VERSION = 1;
    static final int NONCE_BYTES = 32;
    static final int MAC_BYTES = 32;
    static final int HELLO_BYTES = 4 + 4 + NONCE_BYTES;
    static final int AUTH_BYTES = 4 + 4 + NONCE_BYTES + MAC_BYTES;
    static final int PROOF_BYTES = 4 + MAC_BYTES;

    static final int MAGIC = 0x54444B56; // "TDKV"
    static final int MAX_NAME_BYTES = 256;
    /** PageCopyPlan makes one op per layer × K/V × contiguous page run: 2^20 covers 64 layers × 8192 runs. */
    static final int MAX_OPS = 1 << 20;

    static final int OK = 0;
    static final int ERR_UNKNOWN_SEGMENT = -2;
    static final int ERR_OUT_OF_BOUNDS = -3;
    static final int ERR_BAD_FRAME = -4;

    private static final byte[] LABEL = "tandem-kv-auth".getBytes(StandardCharsets.UTF_8);
    private static final byte[] CLIENT = "client".getBytes(StandardCharsets.UTF_8);
    private static final byte[] SERVER = "server".getBytes(StandardCharsets.UTF_8);
    private static final SecureRandom RANDOM = new SecureRandom();

    private TcpWireFormat() {
    }

    static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    static byte[] clientMac(ClusterSecret secret, byte[] serverNonce, byte[] clientNonce) {
        return secret.mac(LABEL, CLIENT, serverNonce, clientNonce);
    }

    static byte[] serverMac(ClusterSecret secret, byte[] serverNonce, byte[] clientNonce) {
        return secret.mac(LABEL, SERVER, serverNonce, clientNonce);
    }

    static ByteBuffer hello(byte[] serverNonce) {
        return ByteBuffer.allocate(HELLO_BYTES).putInt(AUTH_MAGIC).putInt(VERSION).put(serverNonce).flip();
    }

    static ByteBuffer auth(byte[] clientNonce, byte[] clientMac) {
        return ByteBuffer.allocate(AUTH_BYTES).putInt(AUTH_MAGIC).putInt(VERSION).put(clientNonce).put(clientMac)
                .flip();
    }

    static ByteBuffer proof(byte[] serverMac) {
        return ByteBuffer.allocate(PROOF_BYTES).putInt(OK).put(serverMac).flip();
    }

    /** Reads {@code n} bytes at the buffer's position (the fixed-size fields of the handshake). */
    static byte[] bytes(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    /** A peer-given name made safe for a log line: at most 64 printable ASCII characters. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 64; i++) {
            char ch = s.charAt(i);
            b.append(ch >= 0x20 && ch < 0x7f ? ch : '?');
        }
        return s.length() > 64 ? b + "..." : b.toString();
    }

    static String statusText(int status) {
        return switch (status) {
            case ERR_UNKNOWN_SEGMENT -> "unknown segment";
            case ERR_OUT_OF_BOUNDS -> "write out of bounds";
            case ERR_BAD_FRAME -> "malformed batch";
            default -> "status " + status;
        };
    }
}
