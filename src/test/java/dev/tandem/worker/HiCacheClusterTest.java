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
}
