package dev.tandem.config;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;

/**
 * The secret every member of one Tandem cluster shares: it signs event-bus control messages and registry entries
 * and answers the TCP data path's challenge. Never taken from the command line (it would show in {@code ps}); read
 * from, in order: the config's {@code cluster_secret_file} (flag {@code --cluster-secret-file}), the environment's
 * {@code TANDEM_CLUSTER_SECRET} (the secret itself) or {@code TANDEM_CLUSTER_SECRET_FILE}, else the per-host file
 * {@code $TANDEM_HOME/cluster.secret} ({@code ~/.tandem/cluster.secret}), created once with 32 random bytes and mode
 * 0600 so every Tandem process of one host agrees with no setup. Across hosts the operator copies that file.
 */
public final class ClusterSecret {
    public static final String ENV_SECRET = "TANDEM_CLUSTER_SECRET";
    public static final String ENV_SECRET_FILE = "TANDEM_CLUSTER_SECRET_FILE";
    public static final String ENV_HOME = "TANDEM_HOME";
    private static final int MIN_BYTES = 16;
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final byte[] key;
    private final String source;
    /** One keyed Mac per thread: KV events are signed on the scheduler thread, once per batch. */
    private final ThreadLocal<Mac> macs = ThreadLocal.withInitial(this::newMac);

    private ClusterSecret(byte[] key, String source) {
        if (key.length < MIN_BYTES) {
            throw new ConfigException("cluster secret (" + source + ")", key.length + " bytes",
                    "at least " + MIN_BYTES + " bytes");
        }
        this.key = key.clone();
        this.source = source;
    }

    /** A secret given directly (tests, embedding). */
    public static ClusterSecret of(byte[] key, String source) {
        return new ClusterSecret(key, source);
    }

    /** As described above; {@code file} is the configured {@code cluster_secret_file} or null. */
    public static ClusterSecret load(String file, Map<String, String> env) {
        if (file != null) {
            return fromFile(Path.of(file), "cluster_secret_file " + file);
        }
        String inline = env.get(ENV_SECRET);
        if (inline != null && !inline.isEmpty()) {
            return new ClusterSecret(inline.trim().getBytes(StandardCharsets.UTF_8), "$" + ENV_SECRET);
        }
        String envFile = env.get(ENV_SECRET_FILE);
        if (envFile != null && !envFile.isEmpty()) {
            return fromFile(Path.of(envFile), "$" + ENV_SECRET_FILE + " " + envFile);
        }
        String home = env.get(ENV_HOME);
        Path dir = home != null && !home.isEmpty() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".tandem");
        return perHost(dir.resolve("cluster.secret"));
    }

    /** The process-wide default: {@link #load} with this process's environment. */
    public static ClusterSecret load(String file) {
        return load(file, System.getenv());
    }

    private static ClusterSecret fromFile(Path p, String source) {
        try {
            if (!Files.isRegularFile(p)) {
                throw new ConfigException(source, p, "a readable file holding the cluster secret");
            }
            try {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
                if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
                    throw new ConfigException(source, PosixFilePermissions.toString(perms),
                            "a file only its owner can read (chmod 600)");
                }
            } catch (UnsupportedOperationException notPosix) {
                // no POSIX permissions on this file system: nothing to check
            }
            byte[] raw = Files.readAllBytes(p);
            String text = new String(raw, StandardCharsets.UTF_8).trim();
            return new ClusterSecret(text.getBytes(StandardCharsets.UTF_8), source);
        } catch (IOException e) {
            throw new ConfigException(source, p, "a readable file (" + e.getMessage() + ")");
        }
    }

    /**
     * Reads the per-host secret, creating it first if absent. Creation is race-free across processes: the secret
     * is written to a private temporary file that is then hard-linked to the final name, which fails if another
     * process got there first (then its secret is used).
     */
    static ClusterSecret perHost(Path file) {
        String source = "per-host secret " + file;
        if (Files.isRegularFile(file)) {
            return fromFile(file, source);
        }
        try {
            Files.createDirectories(file.getParent(), PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            Path tmp = Files.createTempFile(file.getParent(), ".cluster.secret", ".tmp",
                    PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            try {
                Files.writeString(tmp, HexFormat.of().formatHex(random) + "\n");
                Files.createLink(file, tmp);
            } catch (FileAlreadyExistsException lostTheRace) {
                // another process created it between our check and our link: use theirs
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the per-host cluster secret " + file + " (" + e.getMessage()
                    + "); give one with --cluster-secret-file or $" + ENV_SECRET_FILE, e);
        }
        return fromFile(file, source);
    }

    /** HMAC-SHA256 over the parts, each prefixed by its length so that no two part lists collide. */
    public byte[] mac(byte[]... parts) {
        Mac m = macs.get(); // doFinal leaves it reset for the next use
        byte[] len = new byte[4];
        for (byte[] p : parts) {
            len[0] = (byte) (p.length >>> 24);
            len[1] = (byte) (p.length >>> 16);
            len[2] = (byte) (p.length >>> 8);
            len[3] = (byte) p.length;
            m.update(len);
            m.update(p);
        }
        return m.doFinal();
    }

    private Mac newMac() {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** {@link #mac} over UTF-8 strings. */
    public byte[] mac(String... parts) {
        byte[][] bytes = new byte[parts.length][];
        for (int i = 0; i < parts.length; i++) {
            bytes[i] = parts[i].getBytes(StandardCharsets.UTF_8);
        }
        return mac(bytes);
    }

    /** Constant-time comparison of a received MAC with the expected one. */
    public static boolean equal(byte[] expected, byte[] received) {
        return received != null && MessageDigest.isEqual(expected, received);
    }

    /** A short, non-reversible name for the secret, safe to log: members that print different ones cannot talk. */
    public String fingerprint() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key), 0, 4);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Where the secret came from (never the secret). */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "ClusterSecret[" + source + ", fingerprint " + fingerprint() + "]";
    }
}
