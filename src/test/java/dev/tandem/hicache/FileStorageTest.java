package dev.tandem.hicache;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The file backend byte by byte: round trips, SGLang's leading-hit {@code batch_exists}, torn, truncated,
 * bit-flipped, renamed and deleted files as misses (and removed), the size bound evicting the least recently used
 * page, {@code delete}, {@code clear}, and a second instance (a restarted worker) finding the pages.
 */
class FileStorageTest {
    private static final int PAGE = 1000;
    private final Arena arena = Arena.ofAuto();

    private static List<String> keys(int n) {
        int[] tokens = IntStream.range(0, n * 4).map(i -> i * 7 + 3).toArray();
        return PageKeys.keys(tokens, 4, n, "tiny-L4-P4-S64");
    }

    private MemorySegment page(int seed) {
        MemorySegment s = arena.allocate(PAGE);
        for (int i = 0; i < PAGE; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (seed * 31 + i));
        }
        return s;
    }

    private static byte[] bytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    private static long files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void roundTripsPagesAndCountsLeadingHits(@TempDir Path dir) throws IOException {
        List<String> k = keys(4);
        try (FileStorage st = new FileStorage(dir, 1 << 20)) {
            assertTrue(st.batchSet(k.subList(0, 2), List.of(page(0), page(1))));
            assertTrue(st.set(k.get(3), page(3)));
            assertEquals(2, st.batchExists(k), "leading hits stop at the first miss");
            MemorySegment got = arena.allocate(PAGE);
            assertTrue(st.get(k.get(1), got));
            assertArrayEquals(bytes(page(1)), bytes(got));
            boolean[] hits = st.batchGet(k, List.of(arena.allocate(PAGE), arena.allocate(PAGE),
                    arena.allocate(PAGE), arena.allocate(PAGE)));
            assertArrayEquals(new boolean[] {true, true, false, true}, hits);
            assertEquals(3, st.usage().pages());
            assertEquals(3, files(dir), "one file per key, no temporary file left");
            assertTrue(st.delete(k.get(0)));
            assertFalse(st.delete(k.get(0)));
            assertEquals(0, st.batchExists(k));
            st.clear();
            assertEquals(0, files(dir));
            assertEquals(new HiCacheStorage.Usage(0, 0), st.usage());
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aRestartedInstanceReadsWhatTheFirstWrote(boolean fsync, @TempDir Path dir) {
        List<String> k = keys(3);
        try (FileStorage st = new FileStorage(dir, 1 << 20, fsync)) {
            assertTrue(st.batchSet(k, List.of(page(0), page(1), page(2))));
        }
        try (FileStorage st = new FileStorage(dir, 1 << 20)) {
            assertEquals(3, st.usage().pages(), "found on start-up");
            assertEquals(3, st.batchExists(k));
            MemorySegment got = arena.allocate(PAGE);
            assertTrue(st.get(k.get(2), got));
            assertArrayEquals(bytes(page(2)), bytes(got));
        }
    }

    @Test
    void truncatedFlippedRenamedAndWrongSizedPagesAreMissesAndAreDeleted(@TempDir Path dir) throws IOException {
        List<String> k = keys(5);
        try (FileStorage st = new FileStorage(dir, 1 << 20)) {
            assertTrue(st.batchSet(k, List.of(page(0), page(1), page(2), page(3), page(4))));
            try (RandomAccessFile f = new RandomAccessFile(dir.resolve(k.get(0)).toFile(), "rw")) {
                f.setLength(f.length() - 1); // truncated
            }
            try (RandomAccessFile f = new RandomAccessFile(dir.resolve(k.get(1)).toFile(), "rw")) {
                f.seek(f.length() - 500);
                int b = f.read();
                f.seek(f.length() - 500);
                f.write(b ^ 0x10); // one bit flipped in the payload
            }
            Files.copy(dir.resolve(k.get(3)), dir.resolve(k.get(2)), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.delete(dir.resolve(k.get(4)));
            MemorySegment got = arena.allocate(PAGE);
            for (int i = 0; i < 5; i++) {
                if (i == 3) {
                    continue;
                }
                got.fill((byte) 0);
                assertFalse(st.get(k.get(i), got), "page " + i + " is a miss");
                assertFalse(Files.exists(dir.resolve(k.get(i))), "page " + i + " is gone");
            }
            assertEquals(3, st.damaged(), "truncated, flipped, renamed");
            assertFalse(st.get(k.get(3), arena.allocate(PAGE + 1)), "a target of another size is a miss");
            assertEquals(0, st.usage().pages(), "wrong sized: deleted too");
            assertEquals(0, files(dir));
        }
    }

    @Test
    void aTornTemporaryFileIsNeverReadAndAStaleOneIsSwept(@TempDir Path dir) throws IOException {
        List<String> k = keys(1);
        Path torn = dir.resolve("." + k.get(0) + ".deadbeef.tmp");
        Files.write(torn, new byte[10]);
        Files.setLastModifiedTime(torn, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()
                - 3_600_000));
        Path young = dir.resolve("." + k.get(0) + ".cafecafe.tmp");
        Files.write(young, new byte[10]);
        try (FileStorage st = new FileStorage(dir, 1 << 20)) {
            assertFalse(st.exists(k.get(0)));
            assertFalse(st.get(k.get(0), arena.allocate(PAGE)));
            assertFalse(Files.exists(torn), "a writer that died an hour ago left it");
            assertTrue(Files.exists(young), "may still be in flight");
        }
    }

    @Test
    void theSizeBoundEvictsTheLeastRecentlyUsedPage(@TempDir Path dir) throws IOException {
        List<String> k = keys(4);
        long fileBytes = 4 + 2 + k.get(0).length() + 8 + 4 + PAGE;
        try (FileStorage st = new FileStorage(dir, 3 * fileBytes)) {
            assertTrue(st.batchSet(k.subList(0, 3), List.of(page(0), page(1), page(2))));
            assertTrue(st.get(k.get(0), arena.allocate(PAGE)), "page 0 is now the most recently used");
            assertTrue(st.set(k.get(3), page(3)));
            assertEquals(1, st.evicted());
            assertFalse(st.exists(k.get(1)), "page 1 was the least recently used");
            assertTrue(st.exists(k.get(0)) && st.exists(k.get(2)) && st.exists(k.get(3)));
            assertEquals(3, files(dir));
            assertEquals(3 * fileBytes, st.usage().bytes());
            assertFalse(st.set(k.get(1), arena.allocate(4 * fileBytes)), "larger than the whole bound");
        }
        try (FileStorage st = new FileStorage(dir, 2 * fileBytes)) {
            assertEquals(2, st.usage().pages(), "a smaller bound on restart evicts the oldest");
            assertEquals(2, files(dir));
        }
    }

    @Test
    void keysThatAreNotPageKeysAreRefused(@TempDir Path dir) {
        try (FileStorage st = new FileStorage(dir, 1 << 20)) {
            assertThrows(IllegalArgumentException.class, () -> st.set("../etc/passwd", page(0)));
            assertThrows(IllegalArgumentException.class, () -> st.exists("abc"));
        }
    }
}
