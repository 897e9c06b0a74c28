package dev.tandem.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.Await;
import dev.tandem.TestModels;
import dev.tandem.config.Args;
import dev.tandem.config.WorkerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/** A worker on the tiny model, listening on a free loopback port, plus blocking HTTP helpers for tests. */
final class WorkerFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    final Vertx vertx;
    final String deployment;
    final int port;
    final WebClient client;

    WorkerFixture(Vertx vertx, String... flags) {
        this.vertx = vertx;
        List<String> argv = new ArrayList<>(List.of("--model", TestModels.tiny().toString(), "--port", "0",
                "--host", "127.0.0.1"));
        argv.addAll(List.of(flags));
        WorkerConfig cfg = WorkerConfig.from(Map.of(), Args.parse(argv.toArray(String[]::new),
                Set.of("disable-radix-cache", "enable-hierarchical-cache", "cluster",
                        "disaggregation-decode-enable-offload-kvcache")));
        WorkerMainVerticle main = new WorkerMainVerticle(cfg);
        this.deployment = vertx.deployVerticle(main).await();
        this.port = main.port();
        this.client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port),
                new io.vertx.core.http.PoolOptions().setHttp1MaxSize(64));
    }

    record Reply(int status, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (java.io.IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        /** The {@code data:} payloads of an SSE body, in order, [DONE] included. */
        List<String> events() {
            List<String> out = new ArrayList<>();
            for (String block : body.split("\n\n")) {
                if (block.startsWith("data: ")) {
                    out.add(block.substring(6));
                }
            }
            return out;
        }
    }

    Reply post(String path, Object body) {
        HttpResponse<Buffer> r = client.post(path).sendBuffer(Buffer.buffer(body.toString())).await();
        return new Reply(r.statusCode(), r.bodyAsString() == null ? "" : r.bodyAsString());
    }

    Reply get(String path) {
        HttpResponse<Buffer> r = client.get(path).send().await();
        return new Reply(r.statusCode(), r.bodyAsString() == null ? "" : r.bodyAsString());
    }

    /** {@code method path} with {@code Authorization: Bearer <bearer>} (none when null) and {@code body} (or none). */
    Reply call(io.vertx.core.http.HttpMethod method, String path, String body, String bearer) {
        var req = client.request(method, path);
        if (bearer != null) {
            req.putHeader("Authorization", "Bearer " + bearer);
        }
        HttpResponse<Buffer> r = (body == null ? req.send() : req.sendBuffer(Buffer.buffer(body))).await();
        return new Reply(r.statusCode(), r.bodyAsString() == null ? "" : r.bodyAsString());
    }

    JsonNode generate(String json) {
        Reply r = post("/generate", json);
        if (r.status() != 200) {
            throw new AssertionError("HTTP " + r.status() + ": " + r.body());
        }
        return r.json();
    }

    static List<Integer> ids(JsonNode arr) {
        List<Integer> l = new ArrayList<>();
        arr.forEach(x -> l.add(x.asInt()));
        return l;
    }

    int kvPagesUsed() {
        return state().get("kv_pages_used").asInt();
    }

    /** {@code internal_states[0]} of {@code /get_server_info}: the snapshot published after the scheduler's round. */
    JsonNode state() {
        return get("/get_server_info").json().get("internal_states").get(0);
    }

    /**
     * Waits (10 s at most) until the published snapshot satisfies {@code ok}, and returns that snapshot; fails naming
     * {@code what}. The snapshot can lag an answer by one round (the answer leaves during the round, the snapshot
     * after it): wait for a state only the awaited event produces, then read the counts from it.
     */
    JsonNode awaitState(String what, Predicate<JsonNode> ok) throws InterruptedException {
        return Await.value(what, Duration.ofSeconds(10), this::state, ok);
    }

    /** Waits (bounded) until the worker holds no KV pages and runs nothing. */
    void awaitIdle() throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            JsonNode st = get("/get_server_info").json().get("internal_states").get(0);
            if (st.get("kv_pages_used").asInt() == 0 && st.get("num_running_reqs").asInt() == 0
                    && st.get("num_waiting_reqs").asInt() == 0) {
                return;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("worker did not become idle: " + get("/get_server_info").body());
    }

    @Override
    public void close() {
        client.close();
        vertx.undeploy(deployment).await();
    }
}
