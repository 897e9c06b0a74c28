package dev.tandem.transfer.nixl;

import dev.tandem.config.ClusterSecret;
import dev.tandem.transfer.AgentMemory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The two active messages of a pull (NIXL READ, vLLM's choreography): the prefill agent asks the decode agent to
 * read a descriptor list out of the prefill's registered memory into its own region, and the decode agent answers
 * when the data landed (or why not). Each body ends with an HMAC-SHA256 under the cluster secret, bound to the kind
 * and the receiving agent's name; a body that fails it, or breaks a bound, is refused.
 */
final class ReadMessages {
    static final int MAX_DESCRIPTORS = 1 << 20;
    private static final int MAC_BYTES = 32;

    private ReadMessages() {
    }

    /** READ request: {@code n} descriptors, each {@code length} bytes from {@code src.address + srcOffset} to local
     * region {@code dstRegion} at {@code dstOffset}; then the notification (may be empty). */
    record Request(long id, String notification, String dstRegion, AgentMemory src, long[] srcOffsets,
                   long[] dstOffsets, long[] lengths) {
    }

    /** READ done: {@code error} empty when the data landed. */
    record Done(long id, String error) {
    }

    static byte[] encode(ClusterSecret secret, String receiver, Request r) {
        return seal(secret, "read", receiver, out -> {
            out.writeLong(r.id());
            out.writeUTF(r.notification());
            out.writeUTF(r.dstRegion());
            out.writeUTF(r.src().agent());
            out.writeUTF(r.src().workerAddress());
            out.writeLong(r.src().address());
            out.writeUTF(r.src().rkey());
            out.writeInt(r.lengths().length);
            for (int i = 0; i < r.lengths().length; i++) {
                out.writeLong(r.srcOffsets()[i]);
                out.writeLong(r.dstOffsets()[i]);
                out.writeLong(r.lengths()[i]);
            }
        });
    }

    static byte[] encode(ClusterSecret secret, String receiver, Done d) {
        return seal(secret, "done", receiver, out -> {
            out.writeLong(d.id());
            out.writeUTF(d.error());
        });
    }

    static Request request(ClusterSecret secret, String self, byte[] msg) throws IOException {
        DataInputStream in = open(secret, "read", self, msg);
        long id = in.readLong();
        String notif = in.readUTF();
        String region = in.readUTF();
        AgentMemory src = new AgentMemory(in.readUTF(), in.readUTF(), in.readLong(), in.readUTF());
        int n = in.readInt();
        if (n < 0 || n > MAX_DESCRIPTORS) {
            throw new IOException("read request with " + n + " descriptors");
        }
        long[] s = new long[n];
        long[] d = new long[n];
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            s[i] = in.readLong();
            d[i] = in.readLong();
            l[i] = in.readLong();
            if (s[i] < 0 || d[i] < 0 || l[i] < 0) {
                throw new IOException("read request descriptor " + i + " is negative");
            }
        }
        return new Request(id, notif, region, src, s, d, l);
    }

    static Done done(ClusterSecret secret, String self, byte[] msg) throws IOException {
        DataInputStream in = open(secret, "done", self, msg);
        return new Done(in.readLong(), in.readUTF());
    }

    private interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] seal(ClusterSecret secret, String kind, String receiver, Body body) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            body.write(new DataOutputStream(bytes));
            byte[] b = bytes.toByteArray();
            byte[] mac = mac(secret, kind, receiver, b);
            byte[] all = Arrays.copyOf(b, b.length + MAC_BYTES);
            System.arraycopy(mac, 0, all, b.length, MAC_BYTES);
            return all;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static DataInputStream open(ClusterSecret secret, String kind, String self, byte[] msg)
            throws IOException {
        if (msg.length <= MAC_BYTES) {
            throw new IOException("short " + kind + " message");
        }
        byte[] b = Arrays.copyOf(msg, msg.length - MAC_BYTES);
        if (!ClusterSecret.equal(mac(secret, kind, self, b), Arrays.copyOfRange(msg, b.length, msg.length))) {
            throw new IOException(kind + " message without a valid cluster-secret signature");
        }
        return new DataInputStream(new ByteArrayInputStream(b));
    }

    private static byte[] mac(ClusterSecret secret, String kind, String receiver, byte[] body) {
        return secret.mac(("tandem-nixl-" + kind).getBytes(StandardCharsets.US_ASCII),
                receiver.getBytes(StandardCharsets.UTF_8), body);
    }
}
