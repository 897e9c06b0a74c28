package dev.tandem.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where the cluster secret comes from, and what is refused. */
class ClusterSecretTest {
    @TempDir
    Path dir;

    private Path file(String name, String content, String perms) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        return p;
    }

    private static byte[] mac(ClusterSecret s) {
        return s.mac("x");
    }

    @Test
    void theConfiguredFileWinsThenTheEnvironmentThenThePerHostFile() throws Exception {
        Path f = file("a.secret", "secret-from-the-config-file\n", "rw-------");
        Path g = file("b.secret", "secret-from-the-env-file-1234", "rw-------");
        Map<String, String> env = Map.of(ClusterSecret.ENV_SECRET, "secret-from-the-environment",
                ClusterSecret.ENV_SECRET_FILE, g.toString(), ClusterSecret.ENV_HOME, dir.resolve("home").toString());
        assertArrayEquals(mac(ClusterSecret.of("secret-from-the-config-file".getBytes(), "t")),
                mac(ClusterSecret.load(f.toString(), env)), "trailing newline trimmed");
        assertArrayEquals(mac(ClusterSecret.of("secret-from-the-environment".getBytes(), "t")),
                mac(ClusterSecret.load(null, env)));
        assertArrayEquals(mac(ClusterSecret.of("secret-from-the-env-file-1234".getBytes(), "t")),
                mac(ClusterSecret.load(null, Map.of(ClusterSecret.ENV_SECRET_FILE, g.toString()))));
        ClusterSecret perHost = ClusterSecret.load(null, Map.of(ClusterSecret.ENV_HOME, dir.resolve("home").toString()));
        Path made = dir.resolve("home").resolve("cluster.secret");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(made)));
        assertTrue(Files.readString(made).trim().matches("[0-9a-f]{64}"), "32 random bytes, hex");
        assertArrayEquals(mac(perHost), mac(ClusterSecret.load(null,
                Map.of(ClusterSecret.ENV_HOME, dir.resolve("home").toString()))), "the same secret the next time");
        assertFalse(perHost.toString().contains(Files.readString(made).trim()), "never printed");
    }

    @Test
    void processesRacingToCreateThePerHostSecretAgreeOnOne() throws Exception {
        Path f = dir.resolve("race").resolve("cluster.secret");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<byte[]>> tasks = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                tasks.add(() -> mac(ClusterSecret.perHost(f)));
            }
            Set<String> macs = new HashSet<>();
            for (Future<byte[]> r : pool.invokeAll(tasks)) {
                macs.add(java.util.HexFormat.of().formatHex(r.get()));
            }
            assertEquals(1, macs.size());
            try (var left = Files.list(f.getParent())) {
                assertEquals(List.of(f), left.toList(), "no temporary file left behind");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void readableByOthersTooShortMissingOrOnTheCommandLineIsRefused() throws Exception {
        Path open = file("open.secret", "a-secret-others-can-read", "rw-r--r--");
        var e = assertThrows(ConfigException.class, () -> ClusterSecret.load(open.toString(), Map.of()));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
        Path shortOne = file("short.secret", "tiny", "rw-------");
        e = assertThrows(ConfigException.class, () -> ClusterSecret.load(shortOne.toString(), Map.of()));
        assertTrue(e.getMessage().contains("at least 16 bytes"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> ClusterSecret.load(dir.resolve("nope").toString(), Map.of()));
        assertTrue(e.getMessage().contains("cluster_secret_file"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> SecurityConfig.from(Map.of(),
                Args.parse(new String[] {"--cluster-secret", "hunter2hunter2hunter2"}, Set.of())));
        assertTrue(e.getMessage().contains("not accepted on the command line"), e.getMessage());
    }

    @Test
    void keysAndOpenRoutesAreValidated() {
        var e = assertThrows(ConfigException.class, () -> SecurityConfig.from(Map.of(),
                Args.parse(new String[] {"--api-key", "has space"}, Set.of())));
        assertTrue(e.getMessage().contains("api_key"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> SecurityConfig.from(Map.of("open_routes", List.of("health")),
                null));
        assertTrue(e.getMessage().contains("open_routes"), e.getMessage());
        SecurityConfig s = SecurityConfig.from(Map.of(), Args.parse(new String[] {"--api-key", "k1",
                "--admin-api-key", "k2"}, Set.of()));
        assertTrue(s.open("/health") && s.open("/metrics") && !s.open("/generate"));
        assertFalse(s.toString().contains("k1") || s.toString().contains("k2"), "keys never printed");
    }
}
