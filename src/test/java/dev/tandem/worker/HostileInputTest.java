package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.multipart.MultipartForm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static dev.tandem.worker.WorkerFixture.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inputs that must not hurt a worker, over real HTTP with small limits: multipart uploads (refused, no file written
 * anywhere), bodies over {@code --max-body-bytes} (413), batch × n, stop strings and ports beyond their bounds (400
 * naming the field), and temperature 1e-40 (exactly greedy). The worker stays healthy and leaks no page.
 */
class HostileInputTest {
    private static Vertx vertx;
    private static WorkerFixture w;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
        w = new WorkerFixture(vertx, "--max-body-bytes", "16384", "--max-batch-items", "4", "--max-stop-strings", "2",
                "--max-stop-length", "8");
    }

    @AfterAll
    static void stop() {
        w.close();
        vertx.close().await();
    }

    private static void assertNativeError(WorkerFixture.Reply r, int status, String message) {
        assertEquals(status, r.status(), r.body());
        assertEquals(message, r.json().get("error").get("message").asText());
    }

    private static Set<String> uploadTraces() throws IOException {
        Set<String> out = new java.util.HashSet<>();
        Path uploads = Path.of("file-uploads");
        if (Files.exists(uploads)) {
            try (Stream<Path> s = Files.walk(uploads)) {
                s.forEach(p -> out.add(p.toString()));
            }
        }
        // Netty's disk-backed multipart parts (DiskFileUpload "FUp_", DiskAttribute "Attr_") land in java.io.tmpdir.
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            out.addAll(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("FUp_")
                    || n.startsWith("Attr_")).collect(Collectors.toSet()));
        }
        return out;
    }

    @Test
    void multipartUploadsAreRefusedAndLeaveNoFile() throws IOException {
        Set<String> before = uploadTraces();
        byte[] file = new byte[3000];
        java.util.Arrays.fill(file, (byte) 'A');
        for (String path : List.of("/generate", "/v1/completions", "/flush_cache")) {
            var r = w.client.post(path).sendMultipartForm(MultipartForm.create().attribute("text", "hi")
                    .binaryFileUpload("file", "payload.bin", Buffer.buffer(file), "application/octet-stream")).await();
            assertEquals(415, r.statusCode(), path + ": " + r.bodyAsString());
            String msg = path.startsWith("/v1/") ? WorkerFixture.JSON.readTree(r.bodyAsString()).get("message").asText()
                    : WorkerFixture.JSON.readTree(r.bodyAsString()).get("error").get("message").asText();
            assertTrue(msg.startsWith("Unsupported Content-Type multipart/form-data"), msg);
        }
        assertEquals(before, uploadTraces(), "no upload file anywhere");
        assertFalse(Files.exists(Path.of("file-uploads")) && !before.contains("file-uploads"),
                "BodyHandler created no upload directory");
        assertEquals(200, w.post("/generate", "{\"text\": \"hi\", \"sampling_params\": {\"max_new_tokens\": 2}}")
                .status());
    }

    @Test
    void aFormEncodedBodyIsReadAsJsonAsSglangReadsIt() throws IOException {
        // curl -d sends application/x-www-form-urlencoded: decoded as a form, a field over 8 KB failed with a 500.
        String body = "{\"input_ids\": [508" + ", 100".repeat(1800) + "], \"sampling_params\": {\"max_new_tokens\": 2}}";
        var r = w.client.post("/generate").putHeader("Content-Type", "application/x-www-form-urlencoded")
                .sendBuffer(Buffer.buffer(body)).await();
        assertEquals(200, r.statusCode(), r.bodyAsString());
        assertEquals(2, WorkerFixture.JSON.readTree(r.bodyAsString()).get("output_ids").size());
    }

    @Test
    void bodiesOverTheLimitAre413() throws IOException {
        String big = "{\"text\": \"" + "x".repeat(17000) + "\"}";
        String msg = "The request body exceeds max_body_bytes (16384 bytes; --max-body-bytes)";
        assertNativeError(w.post("/generate", big), 413, msg);
        WorkerFixture.Reply r = w.post("/v1/completions", big);
        assertEquals(413, r.status());
        assertEquals("max_body_bytes", r.json().get("param").asText());
        assertEquals(msg, r.json().get("message").asText());
        // Chunked, without a Content-Length: counted as it arrives (a raw socket: the server may answer, and close,
        // before the body ends).
        try (java.net.Socket sock = new java.net.Socket("127.0.0.1", w.port)) {
            sock.setSoTimeout(30_000);
            var out = sock.getOutputStream();
            out.write(("POST /generate HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String piece = "{\"text\": \"" + "y".repeat(1000);
            try {
                for (int i = 0; i < 20; i++) {
                    out.write((Integer.toHexString(piece.length()) + "\r\n" + piece + "\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            } catch (java.net.SocketException closedEarly) {
                // the server answered and closed first: the answer is what counts
            }
            String reply = new String(readAll(sock), StandardCharsets.UTF_8);
            assertTrue(reply.startsWith("HTTP/1.1 413"), reply);
            assertEquals(msg, WorkerFixture.JSON.readTree(reply.substring(reply.indexOf("\r\n\r\n") + 4))
                    .get("error").get("message").asText());
        }
        assertEquals(200, w.post("/generate", "{\"text\": \"ok\", \"sampling_params\": {\"max_new_tokens\": 1}}")
                .status());
    }

    /** Everything the server sends until it closes the connection (a reset counts as closed). */
    private static byte[] readAll(java.net.Socket s) throws IOException {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = s.getInputStream().read(buf)) >= 0; ) {
                all.write(buf, 0, n);
            }
        } catch (java.net.SocketException reset) {
            // closed with our unread body on its side
        }
        return all.toByteArray();
    }

    @Test
    void batchTimesNStopStringsAndPortsOutOfBoundsAre400NamingTheField() {
        assertNativeError(w.post("/generate", "{\"text\": [\"a\", \"b\", \"c\"], \"sampling_params\": "
                + "{\"n\": 2}}"), 400,
                "Invalid sampling_params.n: the request expands to 6 items (batch size × n), more than "
                        + "max_batch_items = 4");
        assertNativeError(w.post("/generate", "{\"text\": \"a\", \"sampling_params\": {\"stop\": [\"x\", \"y\", "
                + "\"z\"]}}"), 400, "Invalid sampling_params.stop: 3 stop strings, more than max_stop_strings = 2");
        assertNativeError(w.post("/generate", "{\"text\": \"a\", \"sampling_params\": {\"stop\": \"123456789\"}}"),
                400, "Invalid sampling_params.stop: a stop string of 9 characters, longer than max_stop_length = 8");
        assertNativeError(w.post("/generate", "{\"text\": \"a\", \"bootstrap_host\": \"h\", \"bootstrap_port\": "
                + "4294967297, \"bootstrap_room\": 1}"), 400,
                "Invalid bootstrap_port: 4294967297 (must be a port number in [1, 65535] or null)");
        assertNativeError(w.post("/generate", "{\"text\": \"a\", \"bootstrap_room\": -5}"), 400,
                "Invalid bootstrap_room: -5 (must be an integer in [0, 2^63-1])");
        JsonNode e = w.post("/v1/completions", "{\"prompt\": [\"a\", \"b\"], \"n\": 3}").json();
        assertEquals("n", e.get("param").asText());
        assertEquals(400, e.get("code").asInt());
        e = w.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 5}")
                .json();
        assertEquals("n", e.get("param").asText(), e.toString());
        e = w.post("/v1/completions", "{\"prompt\": \"a\", \"stop\": [\"1\", \"2\", \"3\"]}").json();
        assertEquals("stop", e.get("param").asText());
        assertEquals(0, w.kvPagesUsed());
    }

    @Test
    void temperatureOneInTenToTheFortyIsExactlyGreedy() {
        String body = """
                {"input_ids": [508, 72, 101, 108, 108, 111], "return_logprob": true,
                 "sampling_params": {"max_new_tokens": 24, "temperature": %s, "top_p": 0.9, "ignore_eos": true}}""";
        JsonNode greedy = w.generate(body.formatted("0"));
        JsonNode tiny = w.generate(body.formatted("1e-40"));
        assertEquals(ids(greedy.get("output_ids")), ids(tiny.get("output_ids")));
        assertEquals(greedy.get("meta_info").get("output_token_logprobs"),
                tiny.get("meta_info").get("output_token_logprobs"), "same logprobs, none NaN");
        JsonNode openAi = w.post("/v1/completions", "{\"prompt\": [508, 72, 101, 108, 108, 111], \"max_tokens\": 24, "
                + "\"temperature\": 1e-40, \"ignore_eos\": true}").json();
        assertEquals(greedy.get("text").asText(), openAi.get("choices").get(0).get("text").asText());
    }
}
