package dev.tandem.gateway;

import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.metrics.MetricsSetup;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;


/** A gateway on a real socket (127.0.0.1, a free port) with mock workers, and a client that may send a key. */
record TrustFixture(Vertx vertx, GatewayConfig config, GatewayVerticle gateway, WebClient client) {

    /** Deploys {@code workers}, then a gateway started with {@code flags} (workers are not named in them). */
    static TrustFixture start(Vertx vertx, Predicate<String> loopback, List<MockWorker> workers, String... flags) {
        for (MockWorker m : workers) {
            vertx.deployVerticle(m).await();
        }
        List<String> argv = new ArrayList<>(List.of("--port", "0", "--health-interval", "0.1", "--health-failures",
                "2"));
        argv.addAll(List.of(flags));
        GatewayConfig cfg = GatewayConfig.from(Args.parse(argv.toArray(String[]::new), java.util.Set.of()));
        GatewayVerticle g = new GatewayVerticle(cfg, loopback);
        vertx.deployVerticle(g).await();
        return new TrustFixture(vertx, cfg, g, WebClient.create(vertx));
    }

    HttpResponse<Buffer> post(String path, String body, String key) {
        return auth(client.post(gateway.port(), "127.0.0.1", path), key).sendBuffer(Buffer.buffer(body)).await();
    }

    HttpResponse<Buffer> get(String path, String key) {
        return auth(client.get(gateway.port(), "127.0.0.1", path), key).send().await();
    }

    private static HttpRequest<Buffer> auth(HttpRequest<Buffer> r, String key) {
        return key == null ? r : r.putHeader("Authorization", "Bearer " + key);
    }

    static String registration(String mode, String url, Integer bootstrapPort) {
        return new JsonObject().put("mode", mode).put("registry_url", url).put("bootstrap_port", bootstrapPort)
                .encode();
    }

    /** The workers of {@code /list_workers} in {@code pool} ("prefill" or "decode"). */
    JsonArray listed(String pool, String key) {
        return get("/list_workers", key).bodyAsJsonObject().getJsonArray(pool);
    }

    static JsonObject find(JsonArray workers, String url) {
        for (Object o : workers) {
            if (((JsonObject) o).getString("url").equals(url)) {
                return (JsonObject) o;
            }
        }
        return null;
    }

    /** The count of a counter in the process's registry (0 before its first increment). */
    static double count(String name, String... tags) {
        // summed over the tags not named (the route, for the refusal counter)
        return MetricsSetup.registry().find(name).tags(tags).counters().stream().mapToDouble(Counter::count).sum();
    }

    /** Polls {@code cond} for up to 10 s (the state it waits for is reached in well under a second). */
    static void await(String what, BooleanSupplier cond) throws InterruptedException {
        dev.tandem.Await.until(what, java.time.Duration.ofSeconds(10), cond);
    }
}
