package dev.tandem.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TestModels;
import dev.tandem.api.OpenAiRequest;
import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.kvevents.KvEvent;
import dev.tandem.tokenizer.TextTokenizer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.tandem.gateway.policy.KvTestData.stored;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * cache_aware end to end: mock prefill workers whose "snapshots" (the test answers for them) hold one prompt each;
 * the gateway tokenizes each route's prompt as a worker would and sends it to the worker holding it.
 */
@ExtendWith(VertxExtension.class)
class GatewayCacheAwareTest {
    private static final int BS = 4;

    @Test
    void eachRoutesPromptGoesToThePrefillWorkerThatCachesIt(Vertx vertx) throws Exception {
        String text = "The quick brown fox jumps over the lazy dog near the old river bank, then sleeps.";
        String chat = "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story about a fox.\"}]}";
        int[] textIds;
        int[] chatIds;
        try (TextTokenizer tok = TextTokenizer.load(TestModels.tiny())) {
            textIds = tok.encode(text, true);
            String rendered = OpenAiRequest.chat(new ObjectMapper().readTree(chat), tok.chatTemplate()).items().get(0)
                    .text();
            chatIds = tok.encode(rendered, true);
        }
        MockWorker chatHolder = new MockWorker("prefill", 0, 0, 1);
        MockWorker textHolder = new MockWorker("prefill", 0, 0, 1);
        MockWorker decode = new MockWorker("decode", 0, 0, 2);
        for (MockWorker m : List.of(chatHolder, textHolder, decode)) {
            vertx.deployVerticle(m).await();
        }
        List<KvEvent> chatPages = new ArrayList<>(stored(chatIds, BS, 0, chatIds.length / BS));
        List<KvEvent> textPages = new ArrayList<>(stored(textIds, BS, 0, textIds.length / BS));
        // A page repeated within a prompt would be one index entry (PrefixIndex: the latest store wins).
        assertEquals(chatPages.size(), chatPages.stream().map(e -> ((KvEvent.BlockStored) e).blockHashes()).distinct()
                .count());
        assertEquals(textPages.size(), textPages.stream().map(e -> ((KvEvent.BlockStored) e).blockHashes()).distinct()
                .count());
        AtomicInteger asked = new AtomicInteger();
        // The mock workers sign with the host's cluster secret, which the gateway (no secret configured) also uses.
        var hostSigner = new dev.tandem.bus.BusSigner(dev.tandem.config.ClusterSecret.load(null), null);
        KvEventsListenerTest.snapshots(vertx, chatHolder.url(), new AtomicReference<>(
                new KvEventsListenerTest.Tree(-1, "c", chatPages)), asked, hostSigner).completion().await();
        KvEventsListenerTest.snapshots(vertx, textHolder.url(), new AtomicReference<>(
                new KvEventsListenerTest.Tree(-1, "t", textPages)), asked, hostSigner).completion().await();

        GatewayVerticle g = new GatewayVerticle(GatewayConfig.from(Args.parse(new String[] {"--port", "0",
                "--health-interval", "0.1", "--prefill", chatHolder.url(), textHolder.url(), "--decode", decode.url(),
                "--prefill-policy", "cache_aware", "--tokenizer-path", TestModels.tiny().toString()}, Set.of())));
        vertx.deployVerticle(g).await();
        WebClient client = WebClient.create(vertx);
        JsonArray[] prefill = new JsonArray[1];
        KvEventsListenerTest.await("both snapshots indexed", () -> {
            prefill[0] = client.get(g.port(), "127.0.0.1", "/list_workers").send().await().bodyAsJsonObject()
                    .getJsonArray("prefill");
            return cached(prefill[0], chatHolder.url()) == chatPages.size()
                    && cached(prefill[0], textHolder.url()) == textPages.size();
        });
        assertEquals(2, asked.get(), String.valueOf(prefill[0]));

        String ids = new JsonArray(java.util.Arrays.stream(textIds).boxed().toList()).encode();
        List<String[]> calls = List.of(new String[] {"/generate", "{\"text\": \"" + text + "\"}"},
                new String[] {"/v1/chat/completions", chat},
                new String[] {"/generate", "{\"input_ids\": " + ids + "}"},
                new String[] {"/v1/completions", "{\"prompt\": \"" + text + "\"}"},
                new String[] {"/generate", "{\"text\": [\"" + text + "\", \"something else entirely\"]}"});
        for (String[] c : calls) {
            assertEquals(200, client.post(g.port(), "127.0.0.1", c[0]).sendBuffer(Buffer.buffer(c[1])).await()
                    .statusCode(), c[0]);
        }
        KvEventsListenerTest.await("every prefill received", () -> chatHolder.received().size()
                + textHolder.received().size() == calls.size());
        assertEquals(1, chatHolder.received().size(), "the chat request");
        assertEquals(4, textHolder.received().size(), "text, its ids, the completion, the batch by its first item");
    }

    private static long cached(JsonArray workers, String url) {
        for (Object o : workers) {
            JsonObject w = (JsonObject) o;
            if (w.getString("url").equals(url)) {
                return w.getLong("cached_blocks", -1L);
            }
        }
        return -1;
    }
}
