package dev.tandem.transfer;

import dev.tandem.config.ClusterSecret;
import dev.tandem.kvcache.ShmFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /dev/shm} safety: files are private and unguessable, stale-file removal goes by an OS lock (checked with a
 * real second process), and the shm transport maps only the exact file a peer registered.
 */
@Timeout(120)
class ShmSafetyTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("shm-safety-test-secret-0123".getBytes(), "test");
    private static final long BYTES = 4096;

    private final List<AutoCloseable> owned = new ArrayList<>();
    private final List<Path> created = new ArrayList<>();
    private MooncakeTransferEngine engine;
    private Arena arena;
    private MemorySegment src;

    @BeforeEach
    void setUp() {
        engine = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.SHM, "127.0.0.1", SECRET);
        arena = Arena.ofShared();
        src = arena.allocate(BYTES);
        src.fill((byte) 0x77);
    }

    @AfterEach
    void tearDown() throws Exception {
        engine.close();
        for (int i = owned.size() - 1; i >= 0; i--) {
            owned.get(i).close();
        }
        for (Path p : created) {
            Files.deleteIfExists(p);
        }
        arena.close();
    }

    private ShmFile shmFile() {
        ShmFile f = new ShmFile(ShmFile.fresh("test", "kv"), BYTES);
        owned.add(f);
        return f;
    }

    private static Path lockOf(Path data) {
        return data.resolveSibling(data.getFileName() + ".lock");
    }

    private static void age(Path p) throws IOException {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
    }

    // ---- ShmFile ----

    @Test
    void filesAreCreatedOwnerOnlyWithUnguessableNames() throws IOException {
        ShmFile f = shmFile();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.path())));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(lockOf(f.path()))));
        String name = f.path().getFileName().toString();
        assertTrue(name.matches("tandem-test-kv-[0-9a-f]{32}"), name + ": 128 random bits after the prefix");
        assertEquals(ShmFile.DIR, f.path().getParent());
        assertNotEquals(ShmFile.fresh("test", "kv"), ShmFile.fresh("test", "kv"));
        f.close();
        assertFalse(Files.exists(f.path()), "closing deletes the file");
        assertFalse(Files.exists(lockOf(f.path())), "and its lock file");
    }

    @Test
    void removeStaleKeepsALiveProcesssFileAndRemovesItOnceThatProcessDied() throws Exception {
        Process holder = childJvm("hold");
        try {
            Path held = Path.of(new BufferedReader(new InputStreamReader(holder.getInputStream())).readLine());
            assertTrue(Files.exists(held), "the other process created " + held);
            ShmFile.removeStale(Duration.ZERO); // no age guard: only the lock protects it now
            assertTrue(Files.exists(held), "its owner is alive and holds the lock: kept");
            assertTrue(Files.exists(lockOf(held)));
            holder.destroyForcibly(); // SIGKILL: no cleanup runs, the kernel drops the lock
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
            ShmFile.removeStale(Duration.ZERO);
            assertFalse(Files.exists(held), "its owner died: removed");
            assertFalse(Files.exists(lockOf(held)), "lock file removed too");
        } finally {
            holder.destroyForcibly();
        }
    }

    @Test
    void removeStaleRemovesAnUnlockedOldFileButNotAYoungOne() throws IOException {
        Path stale = ShmFile.fresh("test", "stale");
        Path young = ShmFile.fresh("test", "young");
        for (Path p : List.of(stale, lockOf(stale), young, lockOf(young))) {
            Files.createFile(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            created.add(p);
        }
        age(lockOf(stale));
        ShmFile.removeStale();
        assertFalse(Files.exists(stale), "no process holds its lock and it is old: removed");
        assertFalse(Files.exists(lockOf(stale)));
        assertTrue(Files.exists(young), "a lock file seconds old may be one being created: kept");
        assertTrue(Files.exists(lockOf(young)));
    }

    @Test
    void sweepingInThisProcessNeverReleasesTheLockOfItsOwnFiles() throws Exception {
        ShmFile mine = shmFile();
        // Must not open our lock file: closing any descriptor of it would drop our fcntl lock. (So this test
        // cannot age the file either: setting its times opens it. The sweeps skip the age guard instead.)
        ShmFile.removeStale(Duration.ZERO);
        Process sweeper = childJvm("sweep");
        assertTrue(sweeper.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, sweeper.exitValue());
        assertTrue(Files.exists(mine.path()), "another process's sweep finds our lock held: kept");
        assertTrue(Files.exists(lockOf(mine.path())));
    }

    private static Process childJvm(String mode) throws IOException {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m",
                "-cp", System.getProperty("java.class.path"), ShmFileHolder.class.getName(), mode)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    // ---- ShmTransport: what a registration may make this process map ----

    private void assertRefused(SegmentDescriptor d, String why, MemorySegment target) {
        byte[] before = target == null ? null : target.toArray(ValueLayout.JAVA_BYTE);
        assertTrue(engine.batchWrite(d, List.of(new WriteOp(src, 0, 0, 64))) < 0, "must refuse: " + d);
        assertTrue(engine.lastError().contains(why), engine.lastError());
        assertEquals(0, engine.liveShmMappings(), "nothing mapped");
        if (target != null) {
            assertEquals(-1, target.mismatch(MemorySegment.ofArray(before)), "the target is untouched");
        }
    }

    private static SegmentDescriptor naming(SegmentDescriptor d, Path path, String fileId, long bytes) {
        return new SegmentDescriptor(d.name(), d.hostId(), path.toString(), d.tcpHost(), d.tcpPort(), bytes, fileId);
    }

    private SegmentDescriptor registered(ShmFile f) {
        return engine.register(f.path().getFileName().toString(), f.segment(), f.path());
    }

    @Test
    void mapsTheRegisteredFileAndForgettingThePeerReleasesTheMapping() {
        ShmFile f = shmFile();
        SegmentDescriptor d = registered(f);
        assertEquals(0, engine.batchWrite(d, List.of(new WriteOp(src, 0, 100, 64))), engine.lastError());
        assertEquals((byte) 0x77, f.segment().get(ValueLayout.JAVA_BYTE, 163));
        assertEquals(0, f.segment().get(ValueLayout.JAVA_BYTE, 164));
        assertEquals(1, engine.liveShmMappings());
        engine.forgetPeer(d);
        assertEquals(0, engine.liveShmMappings(), "forgetting the peer unmaps its file");
        assertEquals(0, engine.batchWrite(d, List.of(new WriteOp(src, 0, 0, 64))), engine.lastError());
        assertEquals(1, engine.liveShmMappings(), "a later write maps it afresh");
    }

    @Test
    void refusesASymlink() throws IOException {
        ShmFile f = shmFile();
        SegmentDescriptor d = registered(f);
        Path link = ShmFile.fresh("test", "link");
        Files.createSymbolicLink(link, f.path());
        created.add(link);
        assertRefused(naming(d, link, d.fileId(), BYTES), "symlink", f.segment());
    }

    @Test
    void refusesAnotherFileThanTheRegisteredOne() throws IOException {
        ShmFile f = shmFile();
        ShmFile other = shmFile();
        SegmentDescriptor d = registered(f);
        assertRefused(naming(d, other.path(), d.fileId(), BYTES), "replaced", other.segment());
        // the registered name, but the file was replaced since (same name, size and mode, another inode)
        Files.delete(f.path());
        Files.createFile(f.path(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(f.path(), new byte[(int) BYTES]);
        assertRefused(d, "replaced", null);
        assertEquals(0, Files.readAllBytes(f.path())[0], "the impostor file is untouched");
    }

    @Test
    void refusesFilesOutsideDevShmOrWithoutTandemsPrefix(@TempDir Path tmp) throws IOException {
        ShmFile f = shmFile();
        SegmentDescriptor d = registered(f);
        Path outside = tmp.resolve("tandem-outside");
        Files.createFile(outside, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(outside, new byte[(int) BYTES]);
        assertRefused(naming(d, outside, ShmTransport.identity(outside), BYTES), "not a Tandem file", null);
        Path traversal = Path.of("/dev/shm/../../" + outside);
        assertRefused(naming(d, traversal, ShmTransport.identity(outside), BYTES), "not a Tandem file", null);
        assertRefused(naming(d, lockOf(f.path()), ShmTransport.identity(lockOf(f.path())), 0), "not a Tandem file",
                null);
        Path foreign = Path.of("/dev/shm", "not-tandem-" + System.nanoTime());
        Files.createFile(foreign, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        created.add(foreign);
        assertRefused(naming(d, foreign, ShmTransport.identity(foreign), 0), "not a Tandem file", null);
    }

    @Test
    void refusesAWrongSizeAWrongModeAndAMissingIdentity() throws IOException {
        ShmFile f = shmFile();
        SegmentDescriptor d = registered(f);
        assertRefused(naming(d, f.path(), d.fileId(), BYTES + 4096), "holds 4096 bytes", f.segment());
        assertRefused(naming(d, f.path(), d.fileId(), BYTES - 1), "holds 4096 bytes", f.segment());
        assertRefused(naming(d, f.path(), null, BYTES), "no file identity", f.segment());
        try (var auto = new MooncakeTransferEngine(MooncakeTransferEngine.Mode.AUTO, "127.0.0.1", SECRET)) {
            assertEquals("tcp", auto.transportFor(naming(d, f.path(), null, BYTES)),
                    "auto mode does not map a file whose registration does not prove it");
            assertEquals("shm", auto.transportFor(d));
        }
        Files.setPosixFilePermissions(f.path(), PosixFilePermissions.fromString("rw-r--r--"));
        assertRefused(d, "mode rw-r--r--", f.segment());
        Files.setPosixFilePermissions(f.path(), PosixFilePermissions.fromString("rw-------"));
        assertEquals(0, engine.batchWrite(d, List.of(new WriteOp(src, 0, 0, 64))), engine.lastError());
    }

    @Test
    void forgettingAPeerWhileWritesAreInFlightIsSafe() throws Exception {
        ShmFile f = shmFile();
        SegmentDescriptor d = registered(f);
        var pool = Executors.newFixedThreadPool(3);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> writers = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                int offset = w * 2048;
                writers.add(pool.submit(() -> {
                    go.await();
                    int failures = 0;
                    for (int i = 0; i < 2000; i++) {
                        if (engine.batchWrite(d, List.of(new WriteOp(src, 0, offset, 2048))) != 0) {
                            failures++;
                        }
                    }
                    return failures;
                }));
            }
            Future<?> forgetter = pool.submit(() -> {
                go.await();
                for (int i = 0; i < 500; i++) {
                    engine.forgetPeer(d);
                }
                return null;
            });
            go.countDown();
            for (Future<Integer> w : writers) {
                assertEquals(0, w.get(), "no write fails because its mapping was released under it: "
                        + engine.lastError());
            }
            forgetter.get();
        } finally {
            pool.shutdownNow();
        }
        assertEquals(-1, f.segment().mismatch(src), "every byte landed");
        engine.forgetPeer(d);
        assertEquals(0, engine.liveShmMappings());
    }
}
