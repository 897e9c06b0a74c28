package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.cli.VertxFactory;
import dev.tandem.config.HiCacheConfig;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code cluster} storage backend: two colocated workers on two Hazelcast members (two clustered Vert.x
 * instances over loopback, no shared directory); a prompt one computed is a storage hit on the other, with the
 * output of a worker without any cache.
 */
class HiCacheClusterTest {
    private static final int PAGE = 16;

    @Test
    void aPromptComputedOnOneMemberIsAStorageHitOnTheOther() throws Exception {
        int[] p = IntStream.range(0, 90).map(i -> 7 + (i * 53 + i * i) % 480).toArray(); // 5 whole pages below 89
        String req = "{\"input_ids\": " + Arrays.toString(p) + ", \"sampling_params\": {\"max_new_tokens\": 6, "
                + "\"temperature\": 0, \"ignore_eos\": true}}";
        String[] flags = {"--cluster", "--enable-hierarchical-cache", "--hicache-storage-backend", "cluster",
                "--hicache-storage-prefetch-policy", "wait_complete"};
        Vertx a = VertxFactory.create(true, "127.0.0.1");
        Vertx b = VertxFactory.create(true, "127.0.0.1");
        try (WorkerFixture ref = new WorkerFixture(a, "--disable-radix-cache");
             WorkerFixture wa = new WorkerFixture(a, flags);
             WorkerFixture wb = new WorkerFixture(b, flags)) {
            List<Integer> expected = ids(ref.generate(req).get("output_ids"));
            JsonNode ra = wa.generate(req);
            assertEquals(0, ra.get("meta_info").get("cached_tokens").asInt());
            assertEquals(expected, ids(ra.get("output_ids")));
            ClusterPageMap onB = ClusterPageMap.of(b, HiCacheConfig.OFF);
            for (int i = 0; i < 200 && onB.size() < 5; i++) {
                Thread.sleep(25); // A's writes run on its I/O thread
            }
            assertTrue(onB.size() >= 5, "A's pages are visible from B's member: " + onB.size());
            JsonNode rb = wb.generate(req);
            assertEquals(5 * PAGE, rb.get("meta_info").get("cached_tokens").asInt(), rb.toString());
            assertEquals(expected, ids(rb.get("output_ids")));
            onB.clear();
        } finally {
            a.close().await();
            b.close().await();
        }
    }

    /** A metric's value from a Prometheus scrape (the first line that starts with {@code name} and has {@code tag}). */
    private static double metric(String scrape, String name, String tag) {
        return scrape.lines().filter(l -> l.startsWith(name) && l.contains(tag)).findFirst()
                .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).orElse(-1.0);
    }

    /**
     * The same across two worker JVMs (started as {@link ClusteredPdTest} starts them, one Hazelcast member each):
     * a prompt prefilled by one is read from the cluster map by the other: every whole page cached, the output of
     * a worker without any cache.
     */
    @Test
    void aPromptPrefilledByOneJvmIsAStorageHitInAnother() throws Exception {
        int[] p = IntStream.range(0, 90).map(i -> 11 + (i * 59 + i * i) % 470).toArray(); // 5 whole pages below 89
        String req = "{\"input_ids\": " + Arrays.toString(p) + ", \"sampling_params\": {\"max_new_tokens\": 6, "
                + "\"temperature\": 0, \"ignore_eos\": true}}";
        String[] flags = {"--enable-hierarchical-cache", "--hicache-storage-backend", "cluster",
                "--hicache-storage-prefetch-policy", "wait_complete"};
        int portA = ClusteredPdTest.freePort();
        int portB = ClusteredPdTest.freePort();
        List<String> fa = new java.util.ArrayList<>(List.of("--port", "" + portA));
        fa.addAll(List.of(flags));
        List<String> fb = new java.util.ArrayList<>(List.of("--port", "" + portB));
        fb.addAll(List.of(flags));
        Process procA = ClusteredPdTest.launch("hicache-a", fa.toArray(String[]::new));
        Process procB = ClusteredPdTest.launch("hicache-b", fb.toArray(String[]::new));
        Vertx vertx = Vertx.vertx();
        var opts = new io.vertx.ext.web.client.WebClientOptions().setDefaultHost("127.0.0.1");
        var ca = io.vertx.ext.web.client.WebClient.create(vertx, new io.vertx.ext.web.client.WebClientOptions(opts)
                .setDefaultPort(portA));
        var cb = io.vertx.ext.web.client.WebClient.create(vertx, new io.vertx.ext.web.client.WebClientOptions(opts)
                .setDefaultPort(portB));
        try (WorkerFixture ref = new WorkerFixture(vertx, "--disable-radix-cache")) {
            List<Integer> expected = ids(ref.generate(req).get("output_ids"));
            ClusteredPdTest.awaitHealthy(ca, procA, "hicache-a");
            ClusteredPdTest.awaitHealthy(cb, procB, "hicache-b");
            JsonNode ra = WorkerFixture.JSON.readTree(ca.post("/generate")
                    .sendBuffer(io.vertx.core.buffer.Buffer.buffer(req)).await().bodyAsString());
            assertEquals(0, ra.get("meta_info").get("cached_tokens").asInt(), ra.toString());
            assertEquals(expected, ids(ra.get("output_ids")));
            // A writes its pages to the map on its I/O thread; B sees the map's size in its own /metrics.
            double onB = -1;
            for (int i = 0; i < 400 && onB < 5; i++) {
                onB = metric(cb.get("/metrics").send().await().bodyAsString(), "tandem_hicache_pages",
                        "tier=\"l3\"");
                if (onB < 5) {
                    Thread.sleep(25);
                }
            }
            assertTrue(onB >= 5, "A's pages are visible from B's JVM: " + onB);
            JsonNode rb = WorkerFixture.JSON.readTree(cb.post("/generate")
                    .sendBuffer(io.vertx.core.buffer.Buffer.buffer(req)).await().bodyAsString());
            assertEquals(5 * PAGE, rb.get("meta_info").get("cached_tokens").asInt(), rb.toString());
            assertEquals(expected, ids(rb.get("output_ids")), "identical output from the other JVM's pages");
            String scrape = cb.get("/metrics").send().await().bodyAsString();
            assertEquals(5.0, metric(scrape, "tandem_hicache_hit_pages_total", "tier=\"l3\""),
                    "B read the 5 pages from the cluster map:\n"
                            + scrape.lines().filter(l -> l.startsWith("tandem_hicache")).toList());
            assertEquals(200, cb.post("/flush_cache?storage=true").send().await().statusCode());
        } finally {
            for (Process proc : List.of(procA, procB)) {
                proc.destroy();
                if (!proc.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
                    proc.destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
                }
            }
            ca.close();
            cb.close();
            vertx.close().await();
        }
    }
}
