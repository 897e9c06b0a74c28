package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Streaming clients that do not read, over raw sockets. Once the socket buffers and {@code --sse-max-queued-bytes}
 * are full the stream pauses and the scheduler holds the request's decoding. One that never reads is aborted after
 * {@code --sse-stall-timeout}: its pages come back, its connection is closed without {@code [DONE]}, and the worker
 * serves others meanwhile. One that comes back gets everything exactly as generated, in fewer, coalesced events.
 */
class SlowReaderTest {
    private static Vertx vertx;
    private static WorkerFixture stalling;
    private static WorkerFixture patient;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
        stalling = new WorkerFixture(vertx, "--sse-stall-timeout", "0.3", "--sse-max-queued-bytes", "65536");
        patient = new WorkerFixture(vertx, "--sse-stall-timeout", "120", "--sse-max-queued-bytes", "65536",
                "--max-total-tokens", "24576", "--max-running-requests", "64");
    }

    @AfterAll
    static void stop() {
        stalling.close();
        patient.close();
        vertx.close().await();
    }

    /** Every chunk of this native stream carries all top-512 logprobs so far: it outgrows any buffer at once. */
    private static String body(int maxNewTokens, boolean stream) {
        return """
                {"input_ids": [508, 65, 66], "stream": %s, "return_logprob": true, "top_logprobs_num": 512,
                 "sampling_params": {"max_new_tokens": %d, "temperature": 0, "ignore_eos": true}}"""
                .formatted(stream, maxNewTokens);
    }

    /** A client that sends a request; {@code receiveBuffer} > 0 sets a small receive buffer (it fills fast). */
    private static Socket send(int port, String path, String body, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Connection: close\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().write(b);
        s.getOutputStream().flush();
        return s;
    }

    private static JsonNode state(WorkerFixture w) {
        return w.get("/get_server_info").json().get("internal_states").get(0);
    }

    /** Waits (bounded) until {@code w} runs nothing and holds no page. */
    private static void awaitIdle(WorkerFixture w) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            JsonNode st = state(w);
            if (st.get("num_running_reqs").asInt() == 0 && st.get("num_waiting_reqs").asInt() == 0
                    && st.get("kv_pages_used").asInt() == 0) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("worker did not become idle: " + state(w));
    }

    /** Everything the server sends until it closes the connection (a reset counts as closed). */
    private static byte[] readToClose(Socket s) throws IOException {
        s.setSoTimeout(60_000);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = s.getInputStream()) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
            }
        } catch (SocketException reset) {
            // the server closed with data unread on its side: closed all the same
        }
        return out.toByteArray();
    }

    @Test
    void aReaderThatStallsIsAbortedAndItsConnectionClosed() throws Exception {
        long generatedBefore = state(stalling).get("generated_tokens").asLong();
        try (Socket s = send(stalling.port, "/generate", body(1900, true), 4096)) {
            // Others are served while the stalled stream is open.
            JsonNode other = stalling.generate("{\"input_ids\": [508, 72], \"sampling_params\": "
                    + "{\"max_new_tokens\": 4, \"temperature\": 0}}");
            assertEquals(4, other.get("output_ids").size());
            awaitIdle(stalling);
            // The paused request got no tokens while it waited: far fewer than asked for were generated.
            long generated = state(stalling).get("generated_tokens").asLong() - generatedBefore - 4;
            assertTrue(generated < 1900, "aborted before its end: " + generated + " tokens generated");
            String received = new String(readToClose(s), StandardCharsets.ISO_8859_1);
            assertTrue(received.startsWith("HTTP/1.1 200"), received.substring(0, Math.min(200, received.length())));
            assertFalse(received.contains("data: [DONE]"), "the stream was cut, not finished");
        }
        assertEquals(0, stalling.kvPagesUsed());
        assertEquals(4, stalling.generate("{\"input_ids\": [508, 72], \"sampling_params\": "
                + "{\"max_new_tokens\": 4, \"temperature\": 0}}").get("output_ids").size());
    }

    @Test
    void aReaderThatComesBackGetsEverythingExactly() throws Exception {
        // A batch of 64 streams whose chunks carry cumulative text and logprobs: about 15 MB in all, far more than
        // the socket buffers (some 5 MB) and the queue hold, so the stream pauses at least once, then catches up.
        StringBuilder prompts = new StringBuilder();
        for (int k = 0; k < 64; k++) {
            prompts.append(k == 0 ? "" : ", ").append("[508, ").append(65 + k % 32).append(", ").append(66 + k / 32)
                    .append(']');
        }
        String body = """
                {"input_ids": [%s], "stream": %s, "return_logprob": true,
                 "sampling_params": {"max_new_tokens": 120, "temperature": 0, "ignore_eos": true}}""";
        JsonNode reference = patient.post("/generate", body.formatted(prompts, false)).json();
        long generated = state(patient).get("generated_tokens").asLong();
        try (Socket s = send(patient.port, "/generate", body.formatted(prompts, true), 0)) {
            // The client reads nothing until the scheduler holds the batch's decoding for it, or, should the
            // scheduler have outrun the event loop, until everything is generated: the stream is behind either way.
            awaitHeldOrDone(patient, 64, generated + 64 * 120);
            List<String> events = sseEvents(readToClose(s));
            assertEquals("[DONE]", events.getLast());
            List<List<Integer>> ids = new ArrayList<>();
            String[] text = new String[64];
            String[] finish = new String[64];
            int[] lastLogprobs = new int[64];
            for (int k = 0; k < 64; k++) {
                ids.add(new ArrayList<>());
            }
            for (String e : events.subList(0, events.size() - 1)) {
                JsonNode chunk = WorkerFixture.JSON.readTree(e);
                int k = chunk.get("index").asInt();
                ids.get(k).addAll(ids(chunk.get("output_ids")));
                text[k] = chunk.get("text").asText();
                lastLogprobs[k] = chunk.get("meta_info").get("output_token_logprobs").size();
                JsonNode f = chunk.get("meta_info").get("finish_reason");
                finish[k] = f.isNull() ? null : f.get("type").asText();
            }
            for (int k = 0; k < 64; k++) {
                JsonNode want = reference.get(k);
                assertEquals(ids(want.get("output_ids")), ids.get(k), "item " + k);
                assertEquals(want.get("text").asText(), text[k], "item " + k);
                assertEquals(120, lastLogprobs[k], "item " + k + ": cumulative logprobs");
                assertEquals("length", finish[k], "item " + k);
            }
        }
        // [DONE] leaves during the batch's last round, the stats after it: read the pages from a snapshot that shows
        // the batch ended (one published before its last round still shows it running on its pages).
        JsonNode ended = patient.awaitState("the streamed batch ended",
                st -> st.get("num_running_reqs").asInt() == 0 && st.get("num_waiting_reqs").asInt() == 0);
        assertEquals(0, ended.get("kv_pages_used").asInt());
    }

    /** Waits (bounded) until {@code n} requests' decoding is held, or {@code generated} tokens are and none runs. */
    private static void awaitHeldOrDone(WorkerFixture w, int n, long generated) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            JsonNode st = state(w);
            int running = st.get("num_running_reqs").asInt();
            // Held: every request still running waits for the reader (all n, as they are admitted together).
            if (running == n && st.get("num_paused_reqs").asInt() == n
                    || st.get("generated_tokens").asLong() >= generated && running == 0) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the stream was neither held nor done: " + state(w));
    }

    /** The {@code data:} payloads of an HTTP/1.1 response with a chunked SSE body, in order. */
    private static List<String> sseEvents(byte[] http) {
        String head = new String(http, 0, Math.min(http.length, 200), StandardCharsets.ISO_8859_1);
        assertTrue(head.startsWith("HTTP/1.1 200"), head);
        int i = indexOf(http, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0) + 4;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            int eol = indexOf(http, "\r\n".getBytes(StandardCharsets.US_ASCII), i);
            int size = Integer.parseInt(new String(http, i, eol - i, StandardCharsets.US_ASCII).trim(), 16);
            if (size == 0) {
                break;
            }
            body.write(http, eol + 2, size);
            i = eol + 2 + size + 2;
        }
        List<String> events = new ArrayList<>();
        for (String block : body.toString(StandardCharsets.UTF_8).split("\n\n")) {
            if (block.startsWith("data: ")) {
                events.add(block.substring(6));
            }
        }
        return events;
    }

    private static int indexOf(byte[] a, byte[] what, int from) {
        outer:
        for (int i = from; i <= a.length - what.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (a[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("truncated HTTP response");
    }
}
