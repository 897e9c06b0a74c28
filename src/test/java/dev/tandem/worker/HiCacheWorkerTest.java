package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.Await;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hierarchical cache in running workers over HTTP: a colocated worker restarted on the same
 * {@code --hicache-storage-dir} answers a repeated prompt with {@code cached_tokens} for all its whole pages and
 * the output of a worker without any cache; a prompt prefilled by one prefill worker is a storage hit on another
 * sharing the directory; {@code /flush_cache} gives every pool page back and leaves storage alone.
 */
@ExtendWith(VertxExtension.class)
class HiCacheWorkerTest {
    private static final int PAGE = 16;

    private static String body(int[] ids, int maxNew) {
        return "{\"input_ids\": " + Arrays.toString(ids) + ", \"sampling_params\": {\"max_new_tokens\": " + maxNew
                + ", \"temperature\": 0, \"ignore_eos\": true}}";
    }

    private static int[] prompt(int seed, int len) {
        return IntStream.range(0, len).map(i -> 7 + (seed * 131 + i * 37 + i * i) % 480).toArray();
    }

    private static String[] hicache(Path dir, String... more) {
        List<String> f = new java.util.ArrayList<>(List.of("--enable-hierarchical-cache", "--hicache-storage-backend",
                "file", "--hicache-storage-dir", dir.toString(), "--hicache-storage-prefetch-policy", "wait_complete"));
        f.addAll(List.of(more));
        return f.toArray(String[]::new);
    }

    private static long files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    /**
     * Pages whose write to {@code dir} finished: a page is written under a temporary name (ending {@code .tmp}) and
     * renamed once whole, and only then can another worker read it. {@link #files} counts both.
     */
    private static long storedPages(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> !f.getFileName().toString().endsWith(".tmp")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aRestartedWorkerAnswersARepeatedPromptFromStorage(Vertx vertx, @TempDir Path dir) throws Exception {
        int[] p = prompt(5, 150); // 149 positions may be cached: 9 whole pages
        String req = body(p, 8);
        List<Integer> expected;
        try (WorkerFixture ref = new WorkerFixture(vertx, "--disable-radix-cache")) {
            expected = ids(ref.generate(req).get("output_ids"));
        }
        try (WorkerFixture w = new WorkerFixture(vertx, hicache(dir))) {
            JsonNode r = w.generate(req);
            assertEquals(0, r.get("meta_info").get("cached_tokens").asInt());
            assertEquals(expected, ids(r.get("output_ids")));
        } // closing the worker lets its queued storage writes finish
        assertEquals(9, files(dir), "one file per whole page");
        try (WorkerFixture w = new WorkerFixture(vertx, hicache(dir))) {
            JsonNode r = w.generate(req);
            assertEquals(9 * PAGE, r.get("meta_info").get("cached_tokens").asInt(), r.toString());
            assertEquals(expected, ids(r.get("output_ids")), "identical output from storage pages");
            String metrics = w.get("/metrics").body();
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("tandem_hicache_hit_pages_total{")
                    && l.contains("tier=\"l3\"") && l.endsWith(" 9.0")), "9 pages read from storage:\n"
                    + metrics.lines().filter(l -> l.startsWith("tandem_hicache")).toList());
            assertEquals(1, metrics.lines().filter(l -> l.startsWith("tandem_hicache_hit_pages_total{")
                    && l.contains("tier=\"l3\"")).count(), "the stopped worker's meters went with it");
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("tandem_hicache_storage_bytes_read")
                    && l.endsWith(" " + 9.0 * 2 * 4 * PAGE * 256)), "9 pages of 32 KiB:\n"
                    + metrics.lines().filter(l -> l.startsWith("tandem_hicache")).toList());
            w.awaitIdle();
            assertEquals(200, w.post("/flush_cache", "").status());
            JsonNode st = w.get("/get_server_info").json().get("internal_states").get(0);
            assertEquals(0, st.get("prefix_cache_pages").asInt());
            assertEquals(0, st.get("kv_pages_used").asInt());
            assertEquals(9, files(dir), "flush_cache leaves storage alone");
            WorkerFixture.Reply bad = w.post("/flush_cache?storage=yes", "");
            assertEquals(400, bad.status());
            assertTrue(bad.body().contains("storage: yes"), bad.body());
            assertEquals(9, files(dir));
            assertEquals(200, w.post("/flush_cache?storage=true", "").status());
            assertEquals(0, files(dir), "asked: storage is emptied too");
        }
    }

    @Test
    void withDecodeOffloadTheNextTurnFindsTheWholeConversationInStorage(Vertx vertx, @TempDir Path dir)
            throws Exception {
        int port = 21000 + (int) (System.nanoTime() % 5000);
        int[] p = prompt(11, 70);
        try (WorkerFixture prefill = new WorkerFixture(vertx, hicache(dir, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(port)));
             WorkerFixture decode = new WorkerFixture(vertx, hicache(dir, "--mode", "decode",
                     "--disaggregation-decode-enable-offload-kvcache"));
             WorkerFixture ref = new WorkerFixture(vertx, "--disable-radix-cache")) {
            int[] turn = p;
            List<Integer> out = List.of();
            for (int round = 0; round < 2; round++) {
                String plain = body(turn, 30);
                List<Integer> expected = ids(ref.generate(plain).get("output_ids"));
                String withRoom = PdTestSupport.withRoom(plain.substring(0, plain.length() - 1), port,
                        9000L + round);
                var d = decode.client.post("/generate").sendBuffer(Buffer.buffer(withRoom));
                var pr = prefill.client.post("/generate").sendBuffer(Buffer.buffer(withRoom));
                JsonNode dj = WorkerFixture.JSON.readTree(d.await().bodyAsString());
                JsonNode pj = WorkerFixture.JSON.readTree(pr.await().bodyAsString());
                out = ids(dj.get("output_ids"));
                assertEquals(expected, out, "round " + round);
                if (round == 1) {
                    // 70 prompt + 29 decoded tokens had KV on the decode worker: 6 whole pages, where the
                    // prefill worker's own cache holds the prompt's 4.
                    assertEquals(6 * PAGE, pj.get("meta_info").get("cached_tokens").asInt(), pj.toString());
                    assertEquals(6 * PAGE, dj.get("meta_info").get("cached_tokens").asInt());
                }
                decode.awaitIdle();
                // The decode worker's writes run on its I/O thread, after its answer; the next turn's prefill reads
                // what storage holds by then, so wait for the 6 pages whole (a file still being written counts in
                // files() but not here).
                Await.until("the conversation's 6 whole pages in storage", Duration.ofSeconds(10),
                        () -> storedPages(dir) >= 6);
                int[] next = Arrays.copyOf(turn, turn.length + out.size() + 10);
                for (int i = 0; i < out.size(); i++) {
                    next[turn.length + i] = out.get(i);
                }
                System.arraycopy(prompt(12, 10), 0, next, turn.length + out.size(), 10);
                turn = next;
            }
            prefill.awaitIdle();
        }
    }

    @Test
    void aPromptPrefilledByOnePrefillWorkerIsAStorageHitOnAnother(Vertx vertx, @TempDir Path dir) throws Exception {
        int portA = 21000 + (int) (System.nanoTime() % 5000);
        int portB = portA + 1;
        int[] p = prompt(9, 70); // 4 whole pages below token 69
        String plain = body(p, 6);
        try (WorkerFixture prefillA = new WorkerFixture(vertx, hicache(dir, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(portA)));
             WorkerFixture prefillB = new WorkerFixture(vertx, hicache(dir, "--mode", "prefill", "--bootstrap-port",
                     String.valueOf(portB)));
             WorkerFixture decode = new WorkerFixture(vertx, "--mode", "decode");
             WorkerFixture ref = new WorkerFixture(vertx, "--disable-radix-cache")) {
            List<Integer> expected = ids(ref.generate(plain).get("output_ids"));
            int round = 0;
            for (int port : new int[] {portA, portB}) {
                WorkerFixture prefill = port == portA ? prefillA : prefillB;
                String withRoom = PdTestSupport.withRoom(plain.substring(0, plain.length() - 1), port,
                        7000L + round);
                var d = decode.client.post("/generate").sendBuffer(Buffer.buffer(withRoom));
                var pr = prefill.client.post("/generate").sendBuffer(Buffer.buffer(withRoom));
                JsonNode dj = WorkerFixture.JSON.readTree(d.await().bodyAsString());
                JsonNode pj = WorkerFixture.JSON.readTree(pr.await().bodyAsString());
                assertEquals(expected, ids(dj.get("output_ids")), "through prefill worker " + port);
                int hit = round == 0 ? 0 : 4 * PAGE;
                assertEquals(hit, pj.get("meta_info").get("cached_tokens").asInt(), "prefill " + port);
                if (round == 0) {
                    prefillA.awaitIdle();
                    // the writes run on A's I/O thread: wait (bounded) for its pages to land whole (renamed from
                    // their temporary names), as B reads only those
                    Await.until("A's 4 whole pages in storage", Duration.ofSeconds(10), () -> storedPages(dir) >= 4);
                    assertTrue(files(dir) >= 4, "A's pages are in storage");
                }
                round++;
            }
            prefillA.awaitIdle();
            prefillB.awaitIdle();
            decode.awaitIdle();
        }
    }
}
