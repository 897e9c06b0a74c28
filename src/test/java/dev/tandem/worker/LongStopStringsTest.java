package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * With the limits raised to allow them, 20 stop strings of 100 000 characters over real HTTP, next to another
 * client's request: both get exactly what each gets alone (the step-by-step proof that the other client is not slowed
 * is {@code LongStopStringsSchedulerTest}). With the default limits the same request is a 400 naming {@code stop}.
 */
class LongStopStringsTest {
    private static Vertx vertx;
    private static WorkerFixture w;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
        w = new WorkerFixture(vertx, "--max-stop-strings", "20", "--max-stop-length", "100000", "--max-body-bytes",
                "4194304");
    }

    @AfterAll
    static void stop() {
        w.close();
        vertx.close().await();
    }

    private static ObjectNode request(int[] prompt, int max) {
        ObjectNode o = WorkerFixture.JSON.createObjectNode();
        ArrayNode ids = o.putArray("input_ids");
        for (int id : prompt) {
            ids.add(id);
        }
        o.putObject("sampling_params").put("max_new_tokens", max).put("temperature", 0).put("ignore_eos", true);
        return o;
    }

    @Test
    void hugeStopStringsNextToAnotherClientChangeNothing() throws Exception {
        int[] hostilePrompt = {508, 72, 101, 108, 108, 111};
        int[] otherPrompt = {508, 84, 104, 101, 32, 109};
        JsonNode hostileAlone = w.generate(request(hostilePrompt, 150).toString());
        JsonNode otherAlone = w.generate(request(otherPrompt, 150).toString());
        String t = hostileAlone.get("text").asText();

        ObjectNode hostile = request(hostilePrompt, 150);
        ArrayNode stop = ((ObjectNode) hostile.get("sampling_params")).putArray("stop");
        for (int j = 0; j < 10; j++) {
            String prefix = t.substring(0, Math.max(1, t.length() - 1 - j)); // the output keeps growing into these
            stop.add(prefix + "~".repeat(100_000 - prefix.length()));
            stop.add("~".repeat(100_000));
        }
        var h = w.client.post("/generate").sendBuffer(Buffer.buffer(hostile.toString()));
        var o = w.client.post("/generate").sendBuffer(Buffer.buffer(request(otherPrompt, 150).toString()));
        JsonNode hostileOut = WorkerFixture.JSON.readTree(h.await().bodyAsString());
        JsonNode otherOut = WorkerFixture.JSON.readTree(o.await().bodyAsString());
        assertEquals(ids(otherAlone.get("output_ids")), ids(otherOut.get("output_ids")));
        assertEquals(ids(hostileAlone.get("output_ids")), ids(hostileOut.get("output_ids")));
        assertEquals(t, hostileOut.get("text").asText());
        assertEquals("length", hostileOut.get("meta_info").get("finish_reason").get("type").asText());
        w.awaitIdle();

        try (WorkerFixture defaults = new WorkerFixture(vertx, "--max-body-bytes", "4194304")) {
            WorkerFixture.Reply r = defaults.post("/generate", hostile.toString());
            assertEquals(400, r.status());
            assertEquals("Invalid sampling_params.stop[0]: a stop string of 100000 characters, longer than "
                    + "max_stop_length = 4096", r.json().get("error").get("message").asText());
        }
    }
}
