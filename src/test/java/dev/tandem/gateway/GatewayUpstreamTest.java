package dev.tandem.gateway;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.multipart.MultipartForm;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static dev.tandem.gateway.TrustFixture.find;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the gateway repeats of its workers' answers, and what it refuses to pass on to them. */
@ExtendWith(VertxExtension.class)
class GatewayUpstreamTest {

    private static TrustFixture pair(Vertx vertx, MockWorker p, MockWorker d, String... flags) throws Exception {
        vertx.deployVerticle(p).await();
        vertx.deployVerticle(d).await();
        List<String> argv = new java.util.ArrayList<>(List.of("--prefill", p.url(), "--prefill-bootstrap-ports",
                "9000", "--decode", d.url()));
        argv.addAll(List.of(flags));
        TrustFixture f = TrustFixture.start(vertx, AccessRule::loopbackAddress, List.of(), argv.toArray(String[]::new));
        TrustFixture.await("both workers routable", () -> f.get("/health", null).statusCode() == 200);
        return f;
    }

    @Test
    void aHostileServerInfoComesBackAsKnownFieldsOnly(Vertx vertx) throws Exception {
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        MockWorker d = new MockWorker("decode", 0, 0, 2);
        d.serverInfo(new JsonObject().put("disaggregation_mode", "decode").put("version", "v\u001b]0;pwned\u0007")
                .put("aws_secret_access_key", "AKIA-SECRET").put("port", "<script>").put("page_size", 16)
                .put("internal_states", new JsonArray().add(new JsonObject().put("num_running_reqs", 3)
                        .put("stolen", "/etc/shadow contents")).add("raw text")));
        TrustFixture f = pair(vertx, p, d);
        HttpResponse<Buffer> r = f.get("/get_server_info", null);
        assertEquals(200, r.statusCode());
        String raw = r.bodyAsString();
        for (String leak : List.of("AKIA", "<script>", "shadow", "raw text", "\\u001b", "\\u0007")) {
            assertFalse(raw.contains(leak), leak + " leaked: " + raw);
        }
        JsonObject info = r.bodyAsJsonObject();
        JsonObject decode = find(info.getJsonArray("decode"), d.url());
        assertEquals(Set.of("disaggregation_mode", "version", "page_size", "internal_states", "url"),
                decode.fieldNames());
        assertEquals("v ]0;pwned ", decode.getString("version"), "control characters blanked");
        assertEquals(new JsonArray().add(new JsonObject().put("num_running_reqs", 3)), info.getJsonArray(
                "internal_states"));
        assertEquals(new JsonObject().put("object", "list").put("data", new JsonArray().add(new JsonObject()
                .put("id", "mock").put("object", "model"))), f.get("/v1/models", null).bodyAsJsonObject());
        assertEquals(new JsonObject().put("model_path", "mock").put("is_generation", true),
                f.get("/get_model_info", null).bodyAsJsonObject());
        JsonArray flushed = f.post("/flush_cache", "", null).bodyAsJsonObject().getJsonArray("workers");
        assertEquals(new JsonObject().put("url", p.url()).put("mode", "prefill").put("status", 200),
                find(flushed, p.url()), "status only: the worker's body is not repeated");

        // A worker whose answer is too large is not confirmed, and the gateway does not wait on it.
        MockWorker big = new MockWorker("decode", 0, 0, 2);
        big.serverInfo(new JsonObject().put("disaggregation_mode", "decode").put("pad", "x".repeat(1 << 20)));
        vertx.deployVerticle(big).await();
        var reg = f.post("/register", TrustFixture.registration("decode", big.url(), null), null).bodyAsJsonObject();
        assertEquals(false, reg.getBoolean("confirmed"));
        assertTrue(reg.getString("reason").contains("oversized"), reg.encode());
    }

    @Test
    void aWorkerThatNeverAnswersCannotHoldAFanOut(Vertx vertx) throws Exception {
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        MockWorker d = new MockWorker("decode", 0, 0, 2);
        TrustFixture f = pair(vertx, p, d);
        d.hang("/get_server_info");
        p.hang("/get_model_info");
        JsonObject info = f.get("/get_server_info", null).bodyAsJsonObject();
        assertTrue(find(info.getJsonArray("decode"), d.url()).getString("error").contains("no answer"), info.encode());
        assertEquals(p.url(), find(info.getJsonArray("prefill"), p.url()).getString("url"));
        HttpResponse<Buffer> model = f.get("/get_model_info", null);
        assertEquals(502, model.statusCode());
        assertTrue(model.bodyAsString().contains("no answer"), model.bodyAsString());
    }

    @Test
    void aWorkersClientErrorReachesTheClientAsThatStatusWithItsMessage(Vertx vertx) throws Exception {
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        MockWorker d = new MockWorker("decode", 0, 0, 2);
        TrustFixture f = pair(vertx, p, d);
        d.fail(400, "messages must not be empty");
        HttpResponse<Buffer> chat = f.post("/v1/chat/completions", "{\"messages\": [], \"rid\": \"c1\"}", null);
        assertEquals(400, chat.statusCode(), chat.bodyAsString());
        JsonObject e = chat.bodyAsJsonObject();
        assertEquals("error", e.getString("object"));
        assertEquals("messages must not be empty", e.getString("message"));
        assertEquals("messages", e.getString("param"));
        assertEquals(400, e.getInteger("code"));
        TrustFixture.await("the prefill side was aborted", () -> p.aborted().contains("c1"));

        HttpResponse<Buffer> gen = f.post("/generate", "{\"text\": \"hi\"}", null);
        assertEquals(400, gen.statusCode());
        assertEquals(new JsonObject().put("error", new JsonObject().put("message", "messages must not be empty")),
                gen.bodyAsJsonObject(), "SGLang's native shape on /generate");

        d.fail(422, "bad \u001b[2J sampling param " + "z".repeat(5000));
        HttpResponse<Buffer> long422 = f.post("/generate", "{\"text\": \"hi\"}", null);
        assertEquals(422, long422.statusCode());
        String m = long422.bodyAsJsonObject().getJsonObject("error").getString("message");
        assertTrue(m.startsWith("bad  [2J sampling param zz") && m.length() == WorkerShapes.MAX_MESSAGE + 1, m);

        for (int status : new int[] {500, 503, 401}) {
            d.fail(status, "internal detail " + status);
            HttpResponse<Buffer> r = f.post("/generate", "{\"text\": \"hi\"}", null);
            assertEquals(502, r.statusCode(), status + ": " + r.bodyAsString());
            assertTrue(r.bodyAsString().contains("decode worker"), r.bodyAsString());
        }
    }

    @Test
    void thePrefillSidesClientErrorIsRelayedAtOnceAndTheDecodeSideAborted(Vertx vertx) throws Exception {
        MockWorker slowDecode = new MockWorker("decode", 5_000, 0, 2);
        MockWorker badPrefill = new MockWorker("prefill", 0, 0, 1);
        badPrefill.fail(400, "Invalid temperature: -1");
        TrustFixture g = pair(vertx, badPrefill, slowDecode);
        HttpResponse<Buffer> r = g.post("/v1/completions", "{\"prompt\": \"hi\", \"rid\": \"p1\"}", null);
        assertEquals(400, r.statusCode());
        assertEquals("Invalid temperature: -1", r.bodyAsJsonObject().getString("message"));
        TrustFixture.await("the decode side was aborted", () -> slowDecode.aborted().contains("p1"));
    }

    @Test
    void bodiesAreBoundedUploadsOffAndBatchesCappedBeforeDispatch(Vertx vertx) throws Exception {
        MockWorker p = new MockWorker("prefill", 0, 0, 1);
        MockWorker d = new MockWorker("decode", 0, 0, 2);
        TrustFixture f = pair(vertx, p, d, "--max-body-bytes", "2048", "--max-batch-items", "4");
        String big = "{\"text\": \"" + "a".repeat(4096) + "\"}";
        HttpResponse<Buffer> tooBig = f.post("/generate", big, null);
        assertEquals(413, tooBig.statusCode());
        assertTrue(tooBig.bodyAsJsonObject().getJsonObject("error").getString("message").contains("max_body_bytes"));
        HttpResponse<Buffer> tooBigAi = f.post("/v1/completions", big, null);
        assertEquals(413, tooBigAi.statusCode());
        assertEquals("max_body_bytes", tooBigAi.bodyAsJsonObject().getString("param"));

        Path uploads = Path.of("file-uploads");
        long before = Files.isDirectory(uploads) ? Files.list(uploads).count() : -1;
        HttpResponse<Buffer> multipart = f.client().post(f.gateway().port(), "127.0.0.1", "/generate")
                .sendMultipartForm(MultipartForm.create().attribute("text", "hi").textFileUpload("file", "x.txt",
                        Buffer.buffer("payload"), "text/plain")).await();
        assertEquals(400, multipart.statusCode(), "not a JSON body");
        assertEquals(before, Files.isDirectory(uploads) ? Files.list(uploads).count() : -1, "no file was written");

        HttpResponse<Buffer> batch = f.post("/generate", "{\"text\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", null);
        assertEquals(400, batch.statusCode());
        assertTrue(batch.bodyAsJsonObject().getJsonObject("error").getString("message").startsWith("Invalid text"));
        HttpResponse<Buffer> n = f.post("/v1/completions", "{\"prompt\": [\"a\", \"b\", \"c\"], \"n\": 2}", null);
        assertEquals(400, n.statusCode());
        assertEquals("n", n.bodyAsJsonObject().getString("param"));
        assertTrue(p.received().isEmpty() && d.received().isEmpty(), "nothing was dispatched");
        assertEquals(200, f.post("/generate", "{\"text\": [\"a\", \"b\", \"c\", \"d\"]}", null).statusCode());
        assertNull(tooBig.getHeader("WWW-Authenticate"));
    }
}
