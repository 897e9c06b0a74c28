package dev.tandem.worker;

import dev.tandem.metrics.MetricsSetup;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --api-key} and {@code --admin-api-key} on a worker, over real HTTP: exact statuses and JSON errors for no
 * key, a wrong key and the right one, the admin routes' 403 for the API key alone, open routes, and the refusal
 * counter. (Without keys, every other worker test runs as before.)
 */
class ApiKeysTest {
    private static final String API = "k-7Hq2-api";
    private static final String ADMIN = "k-9Zx4-admin";
    private static final String API_ONLY = "k-3Mm8-only";
    private static final String GEN = """
            {"input_ids": [508, 72, 101], "sampling_params": {"max_new_tokens": 3, "temperature": 0}}""";
    private static final String MISSING = "Unauthorized: this route needs the API key as 'Authorization: Bearer <key>'";
    private static final String WRONG = "Unauthorized: the bearer token is not the API key";

    private static Vertx vertx;
    private static WorkerFixture keys;
    private static WorkerFixture apiOnly;

    @BeforeAll
    static void start() {
        vertx = MetricsSetup.vertx();
        keys = new WorkerFixture(vertx, "--api-key", API, "--admin-api-key", ADMIN);
        apiOnly = new WorkerFixture(vertx, "--api-key", API_ONLY, "--open-routes", "/health", "/get_model_info");
    }

    @AfterAll
    static void stop() {
        keys.close();
        apiOnly.close();
        vertx.close().await();
    }

    private static String nativeError(String message) {
        return WorkerFixture.JSON.createObjectNode().set("error",
                WorkerFixture.JSON.createObjectNode().put("message", message)).toString();
    }

    private static String openAiError(int code, String type, String message) {
        var o = WorkerFixture.JSON.createObjectNode().put("object", "error").put("message", message).put("type", type)
                .put("param", "Authorization").put("code", code);
        o.putObject("error").put("message", message).put("type", type).put("param", "Authorization").put("code", code);
        return o.toString();
    }

    private static void assertReply(WorkerFixture.Reply r, int status, String body) {
        assertEquals(status, r.status(), r.body());
        assertEquals(body, r.body());
    }

    /** The refusal counter for {@code route} and {@code status}, summed over the workers of this JVM. */
    private static double refusals(String route, int status) {
        String scrape = MetricsSetup.registry().scrape();
        Matcher m = Pattern.compile("tandem_http_unauthorized_total\\{role=\"worker\",route=\"" + Pattern.quote(route)
                + "\",status=\"" + status + "\"} ([0-9.E]+)").matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void generationRoutesNeedTheApiKey() {
        double before = refusals("/generate", 401);
        assertReply(keys.call(HttpMethod.POST, "/generate", GEN, null), 401, nativeError(MISSING));
        assertReply(keys.call(HttpMethod.POST, "/generate", GEN, "wrong"), 401, nativeError(WRONG));
        assertReply(keys.call(HttpMethod.POST, "/generate", GEN, API_ONLY), 401, nativeError(WRONG));
        WorkerFixture.Reply ok = keys.call(HttpMethod.POST, "/generate", GEN, API);
        assertEquals(200, ok.status(), ok.body());
        assertEquals(3, ok.json().get("output_ids").size());
        assertEquals(200, keys.call(HttpMethod.POST, "/generate", GEN, ADMIN).status(), "the admin key works too");
        assertEquals(before + 3, refusals("/generate", 401));

        String completion = "{\"prompt\": \"Hello\", \"max_tokens\": 2, \"temperature\": 0}";
        assertReply(keys.call(HttpMethod.POST, "/v1/completions", completion, null), 401,
                openAiError(401, "AuthenticationError", MISSING));
        assertEquals(200, keys.call(HttpMethod.POST, "/v1/completions", completion, API).status());
        assertReply(keys.call(HttpMethod.GET, "/v1/models", null, "nope"), 401,
                openAiError(401, "AuthenticationError", WRONG));
        assertReply(keys.call(HttpMethod.GET, "/get_server_info", null, null), 401, nativeError(MISSING));
        // An unknown path needs the key too (a 404 would tell which routes exist), and counts as "other".
        double other = refusals("other", 401);
        assertReply(keys.call(HttpMethod.GET, "/no_such_route", null, null), 401, nativeError(MISSING));
        assertEquals(other + 1, refusals("other", 401));
        assertEquals(404, keys.call(HttpMethod.GET, "/no_such_route", null, API).status());
    }

    @Test
    void adminRoutesNeedTheAdminKey() {
        String needsAdmin = " needs the admin API key (--admin-api-key); the API key is not enough";
        double before = refusals("/flush_cache", 403);
        String flush = nativeError("/flush_cache" + needsAdmin);
        assertReply(keys.call(HttpMethod.POST, "/flush_cache", null, API), 403, flush);
        assertReply(keys.call(HttpMethod.GET, "/flush_cache/", null, API), 403, flush);
        assertEquals(before + 2, refusals("/flush_cache", 403));
        assertReply(keys.call(HttpMethod.POST, "/flush_cache", null, null), 401,
                nativeError("Unauthorized: this route needs the admin API key as 'Authorization: Bearer <key>'"));
        assertReply(keys.call(HttpMethod.POST, "/flush_cache", null, "guess"), 401,
                nativeError("Unauthorized: the bearer token is not the admin API key"));
        assertReply(keys.call(HttpMethod.POST, "/flush_cache", null, ADMIN), 200, "Cache flushed.\n");
        String abort = "{\"rid\": \"nobody\"}";
        assertReply(keys.call(HttpMethod.POST, "/abort_request", abort, API), 403,
                nativeError("/abort_request" + needsAdmin));
        assertEquals(200, keys.call(HttpMethod.POST, "/abort_request", abort, ADMIN).status(),
                "an unknown rid is a 200, as SGLang answers");
        assertEquals(200, keys.call(HttpMethod.POST, "/abort_request", "{\"abort_all\": true}", ADMIN).status());
    }

    @Test
    void openRoutesStayOpenAndAreConfigurable() {
        assertEquals(200, keys.call(HttpMethod.GET, "/health", null, null).status());
        assertEquals(200, keys.call(HttpMethod.GET, "/health_generate", null, null).status());
        WorkerFixture.Reply metrics = keys.call(HttpMethod.GET, "/metrics", null, null);
        assertEquals(200, metrics.status());
        assertTrue(metrics.body().contains("tandem_"));
        // --open-routes replaces the defaults: /metrics needs the key now, /get_model_info does not.
        assertEquals(200, apiOnly.call(HttpMethod.GET, "/health", null, null).status());
        assertEquals(200, apiOnly.call(HttpMethod.GET, "/get_model_info", null, null).status());
        assertReply(apiOnly.call(HttpMethod.GET, "/metrics", null, null), 401, nativeError(MISSING));
        assertEquals(200, apiOnly.call(HttpMethod.GET, "/metrics", null, API_ONLY).status());
    }

    @Test
    void withoutAnAdminKeyAdminRoutesTakeTheApiKey() {
        assertReply(apiOnly.call(HttpMethod.POST, "/flush_cache", null, null), 401, nativeError(MISSING));
        assertReply(apiOnly.call(HttpMethod.POST, "/flush_cache", null, API_ONLY), 200, "Cache flushed.\n");
        assertEquals(200, apiOnly.call(HttpMethod.POST, "/abort_request", "{\"rid\": \"x\"}", API_ONLY).status());
        assertEquals(401, apiOnly.call(HttpMethod.POST, "/abort_request", "{\"rid\": \"x\"}", API).status());
    }
}
