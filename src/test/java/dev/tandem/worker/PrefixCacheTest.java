package dev.tandem.worker;

import dev.tandem.bus.BusAddresses;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.KvEventBatch;
import dev.tandem.kvevents.KvEventCodec;
import dev.tandem.kvevents.TupleHash;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The radix prefix cache in a running worker: a shared prefix is reused ({@code cached_tokens}) without changing
 * a single output token, the tree's events reach the event bus in order with consecutive seqs, a snapshot
 * describes the tree, eviction makes room when pages run short, and {@code /flush_cache} gives every page back.
 */
@ExtendWith(VertxExtension.class)
class PrefixCacheTest {
    private static final int PAGE = 16;

    /** A greedy request over {@code ids} for {@code maxNew} tokens. */
    private static String body(int[] ids, int maxNew) {
        return "{\"input_ids\": " + Arrays.toString(ids) + ", \"sampling_params\": {\"max_new_tokens\": " + maxNew
                + ", \"temperature\": 0, \"ignore_eos\": true}}";
    }

    private static int[] prompt(int seed, int len) {
        return IntStream.range(0, len).map(i -> 7 + (seed * 131 + i * 37) % 480).toArray();
    }

    private static int[] concat(int[] a, List<Integer> b) {
        int[] out = Arrays.copyOf(a, a.length + b.size());
        for (int i = 0; i < b.size(); i++) {
            out[a.length + i] = b.get(i);
        }
        return out;
    }

    private static long hash(int[] tokens, int page) {
        return TupleHash.hash(tokens, page * PAGE, (page + 1) * PAGE);
    }

    private static KvEvent.BlockStored stored(int[] tokens, int page, Long parent) {
        List<Integer> t = new ArrayList<>();
        for (int i = page * PAGE; i < (page + 1) * PAGE; i++) {
            t.add(tokens[i]);
        }
        return new KvEvent.BlockStored(List.of(hash(tokens, page)), parent, t, PAGE, null);
    }

    /** Batches published for {@code url}, with their seq headers. */
    private record Heard(List<Long> seqs, List<KvEvent> events, Set<String> epochs) {
        static Heard listen(Vertx vertx, List<MessageConsumer<?>> consumers, String url) {
            Heard h = new Heard(new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>(),
                    java.util.concurrent.ConcurrentHashMap.newKeySet());
            consumers.add(vertx.eventBus().<Buffer>consumer(BusAddresses.KV_EVENTS, m -> {
                if (url.equals(m.headers().get("worker"))) {
                    // every batch is signed with the host's cluster secret (throws otherwise)
                    new dev.tandem.bus.BusSigner(dev.tandem.config.ClusterSecret.load(null), null)
                            .verifyBytes(BusAddresses.KV_EVENTS, m.headers(), m.body().getBytes());
                    h.seqs.add(Long.parseLong(m.headers().get("seq")));
                    h.epochs.add(m.headers().get("epoch"));
                    h.events.addAll(KvEventCodec.decode(m.body().getBytes()).events());
                }
            }));
            return h;
        }

        void awaitEvents(int n) throws InterruptedException {
            for (int i = 0; i < 400 && events.size() < n; i++) {
                Thread.sleep(10);
            }
            assertEquals(n, events.size(), "events heard: " + events);
        }
    }

    @Test
    void sharedPrefixIsReusedWithIdenticalOutputAndExactEvents(Vertx vertx) throws Exception {
        List<MessageConsumer<?>> consumers = new ArrayList<>();
        try (WorkerFixture w = new WorkerFixture(vertx, "--kv-events-config", "{\"publisher\": \"eventbus\"}");
             WorkerFixture ref = new WorkerFixture(vertx, "--disable-radix-cache")) {
            String url = "http://127.0.0.1:" + w.port;
            Heard heard = Heard.listen(vertx, consumers, url);

            // A: 41 prompt tokens, 8 outputs -> KV for 48 tokens -> 3 whole pages cached.
            int[] a = prompt(1, 41);
            JsonNode ra = w.generate(body(a, 8));
            assertEquals(0, ra.get("meta_info").get("cached_tokens").asInt());
            assertEquals(ids(ref.generate(body(a, 8)).get("output_ids")), ids(ra.get("output_ids")));
            int[] aFill = concat(a, ids(ra.get("output_ids")));
            heard.awaitEvents(3);
            assertEquals(List.of(stored(aFill, 0, null), stored(aFill, 1, hash(aFill, 0)),
                    stored(aFill, 2, hash(aFill, 1))), heard.events);

            // B shares A's first 40 tokens: the 2 whole pages among them are reused, the output is unchanged.
            int[] b = Arrays.copyOf(a, 45);
            for (int i = 40; i < 45; i++) {
                b[i] = 400 + i;
            }
            JsonNode rb = w.generate(body(b, 8));
            assertEquals(2 * PAGE, rb.get("meta_info").get("cached_tokens").asInt());
            assertEquals(ids(ref.generate(body(b, 8)).get("output_ids")), ids(rb.get("output_ids")));
            int[] bFill = concat(b, ids(rb.get("output_ids")));
            // The match splits A's 3-page node after 2 pages; B's own third page hangs under the split point.
            heard.awaitEvents(8);
            assertEquals(List.of(new KvEvent.BlockRemoved(List.of(hash(aFill, 0), hash(aFill, 1), hash(aFill, 2))),
                    stored(aFill, 0, null), stored(aFill, 1, hash(aFill, 0)), stored(aFill, 2, hash(aFill, 1)),
                    stored(bFill, 2, hash(aFill, 1))), heard.events.subList(3, 8));

            // The same request again: everything but the last page-aligned remainder comes from the cache.
            JsonNode rb2 = w.generate(body(b, 8));
            assertEquals(2 * PAGE, rb2.get("meta_info").get("cached_tokens").asInt());
            assertEquals(ids(rb.get("output_ids")), ids(rb2.get("output_ids")));

            // A snapshot is the whole tree, and names the last seq it includes.
            // (sealed with this host's cluster secret, as every Tandem process of the host has it)
            var signer = new dev.tandem.bus.BusSigner(dev.tandem.config.ClusterSecret.load(null), null);
            JsonObject ask = signer.seal(BusAddresses.kvEventsSnapshot(url), new JsonObject());
            Message<Buffer> snap = vertx.eventBus().<Buffer>request(BusAddresses.kvEventsSnapshot(url), ask).await();
            signer.verifyBytes(BusAddresses.kvEventsSnapshotReply(ask.getString("nonce")), snap.headers(),
                    snap.body().getBytes());
            KvEventBatch tree = KvEventCodec.decode(snap.body().getBytes());
            assertEquals(new KvEvent.AllBlocksCleared(), tree.events().get(0));
            assertEquals(Set.of(stored(aFill, 0, null), stored(aFill, 1, hash(aFill, 0)),
                    stored(aFill, 2, hash(aFill, 1)), stored(bFill, 2, hash(aFill, 1))),
                    new HashSet<>(tree.events().subList(1, tree.events().size())));
            assertEquals(5, tree.events().size());
            assertEquals(heard.seqs.get(heard.seqs.size() - 1), Long.parseLong(snap.headers().get("seq")));

            // Seqs count from 0 without gaps; one epoch.
            assertEquals(IntStream.range(0, heard.seqs.size()).mapToObj(Long::valueOf).toList(), heard.seqs);
            assertEquals(1, heard.epochs.size());

            // flush_cache: every page back, one AllBlocksCleared.
            w.awaitIdle();
            JsonNode before = w.get("/get_server_info").json().get("internal_states").get(0);
            assertEquals(4, before.get("prefix_cache_pages").asInt());
            assertEquals(4 * PAGE, before.get("prefix_cache_hit_tokens").asInt());
            assertEquals(200, w.post("/flush_cache", "").status());
            heard.awaitEvents(9);
            assertEquals(new KvEvent.AllBlocksCleared(), heard.events.get(8));
            JsonNode after = w.get("/get_server_info").json().get("internal_states").get(0);
            assertEquals(0, after.get("prefix_cache_pages").asInt());
            assertEquals(0, after.get("kv_pages_used").asInt());
        } finally {
            consumers.forEach(c -> c.unregister().await());
        }
    }

    @Test
    void aPrefillWorkerReusesItsCacheAndTheDecodeAnswerReportsTheHit(Vertx vertx) throws Exception {
        int bootstrapPort = 21000 + (int) (System.nanoTime() % 5000);
        try (WorkerFixture prefill = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port",
                String.valueOf(bootstrapPort), "--chunked-prefill-size", "16");
             WorkerFixture decode = new WorkerFixture(vertx, "--mode", "decode");
             WorkerFixture ref = new WorkerFixture(vertx, "--disable-radix-cache")) {
            int[] a = prompt(4, 70);
            String plain = body(a, 6);
            List<Integer> expected = ids(ref.generate(plain).get("output_ids"));
            for (int round = 0; round < 3; round++) {
                String withRoom = PdTestSupport.withRoom(plain.substring(0, plain.length() - 1), bootstrapPort,
                        5000L + round);
                var d = decode.client.post("/generate").sendBuffer(Buffer.buffer(withRoom));
                var p = prefill.client.post("/generate").sendBuffer(Buffer.buffer(withRoom));
                JsonNode dj = WorkerFixture.JSON.readTree(d.await().bodyAsString());
                JsonNode pj = WorkerFixture.JSON.readTree(p.await().bodyAsString());
                assertEquals(expected, ids(dj.get("output_ids")), "round " + round);
                // Round 0 computes all 70 tokens; later rounds borrow the 4 whole pages below token 69.
                int hit = round == 0 ? 0 : 4 * PAGE;
                assertEquals(hit, pj.get("meta_info").get("cached_tokens").asInt(), "prefill, round " + round);
                assertEquals(hit, dj.get("meta_info").get("cached_tokens").asInt(), "decode, round " + round);
            }
            prefill.awaitIdle();
            decode.awaitIdle();
            JsonNode p = prefill.get("/get_server_info").json().get("internal_states").get(0);
            assertEquals(4, p.get("prefix_cache_pages").asInt()); // the partial fifth page is not cached
            assertEquals(0, decode.get("/get_server_info").json().get("internal_states").get(0)
                    .get("prefix_cache_pages").asInt(), "decode workers keep no prefix cache");
            assertEquals(200, prefill.post("/flush_cache", "").status());
            assertEquals(0, prefill.get("/get_server_info").json().get("internal_states").get(0)
                    .get("prefix_cache_pages").asInt());
        }
    }

    @Test
    void evictionMakesRoomWhenPagesRunShort(Vertx vertx) throws Exception {
        List<MessageConsumer<?>> consumers = new ArrayList<>();
        // 4 pages in all: a second unrelated 49-token request needs the 3 pages the first left in the cache.
        try (WorkerFixture w = new WorkerFixture(vertx, "--max-total-tokens", "64", "--kv-events-config",
                "{\"publisher\": \"eventbus\"}");
             WorkerFixture ref = new WorkerFixture(vertx, "--disable-radix-cache")) {
            Heard heard = Heard.listen(vertx, consumers, "http://127.0.0.1:" + w.port);
            int[] a = prompt(2, 41);
            int[] c = prompt(3, 41);
            JsonNode ra = w.generate(body(a, 8));
            JsonNode rc = w.generate(body(c, 8));
            assertEquals(ids(ref.generate(body(c, 8)).get("output_ids")), ids(rc.get("output_ids")));
            assertEquals(0, rc.get("meta_info").get("cached_tokens").asInt());
            int[] aFill = concat(a, ids(ra.get("output_ids")));
            int[] cFill = concat(c, ids(rc.get("output_ids")));
            heard.awaitEvents(7);
            assertEquals(new KvEvent.BlockRemoved(List.of(hash(aFill, 0), hash(aFill, 1), hash(aFill, 2))),
                    heard.events.get(3));
            assertEquals(List.of(stored(cFill, 0, null), stored(cFill, 1, hash(cFill, 0)),
                    stored(cFill, 2, hash(cFill, 1))), heard.events.subList(4, 7));
            w.awaitIdle();
            JsonNode st = w.get("/get_server_info").json().get("internal_states").get(0);
            assertEquals(3, st.get("prefix_cache_pages").asInt());
            assertEquals(0, st.get("kv_pages_used").asInt()); // cached pages are evictable, so free for use
        } finally {
            consumers.forEach(c -> c.unregister().await());
        }
    }

    @Test
    void anUnknownPublisherOrFormatIsAConfigErrorNamingTheField(Vertx vertx) {
        var e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> new WorkerFixture(vertx, "--kv-events-config", "{\"publisher\": \"kafka\"}"));
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        assertTrue(root.getMessage().contains("kv-events-config.publisher: unknown event publisher 'kafka'"),
                root.getMessage());
        var bad = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> new WorkerFixture(vertx, "--kv-events-config", "{\"format\": \"protobuf\"}"));
        assertTrue(bad.getMessage().contains("kv-events-config.format: 'protobuf'"), bad.getMessage());
    }
}
