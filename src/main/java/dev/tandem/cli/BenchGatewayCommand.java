package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.gateway.GatewayVerticle;
import dev.tandem.gateway.MockWorker;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code bench-gateway [--requests 20000] [--concurrency 1,32]}: the gateway's own cost. Mock workers answer at once;
 * the same closed-loop load (fixed concurrency) runs against the gateway (two upstream calls per request) and
 * against the decode mock directly, in one run, and both get requests/s and p50/p99 latency.
 */
public final class BenchGatewayCommand {
    private static final String BODY = "{\"text\": \"hello\", \"sampling_params\": {\"max_new_tokens\": 4}}";

    private BenchGatewayCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of());
        int requests = a.integer("requests", 20000);
        int[] levels = a.has("concurrency") ? a.intList("concurrency") : new int[] {1, 32};
        a.rejectUnknown();
        Vertx servers = Vertx.vertx();
        Vertx load = Vertx.vertx();
        try {
            MockWorker p = new MockWorker("prefill", 0, 0, 1);
            MockWorker d = new MockWorker("decode", 0, 0, 4);
            servers.deployVerticle(p).await();
            servers.deployVerticle(d).await();
            GatewayVerticle g = new GatewayVerticle(GatewayConfig.from(Args.parse(new String[] {"--port", "0",
                    "--prefill", p.url(), "--prefill-bootstrap-ports", "8998", "--decode", d.url(),
                    "--health-interval", "0.2"}, Set.of())));
            servers.deployVerticle(g).await();
            int maxConcurrency = Arrays.stream(levels).max().orElse(1);
            WebClient client = WebClient.create(load, new WebClientOptions().setKeepAlive(true),
                    new PoolOptions().setHttp1MaxSize(maxConcurrency));
            waitHealthy(client, g.port());
            for (int concurrency : levels) {
                System.out.printf("%n%d requests, concurrency %d, mock workers answering at once%n", requests,
                        concurrency);
                // Warm both paths (JIT, connections), then measure.
                drive(client, d.port(), Math.min(requests, 2000), concurrency);
                drive(client, g.port(), Math.min(requests, 2000), concurrency);
                Result direct = drive(client, d.port(), requests, concurrency);
                Result gateway = drive(client, g.port(), requests, concurrency);
                print("direct (decode mock)", direct);
                print("through the gateway", gateway);
                System.out.printf("gateway adds %.2f ms at p50, %.2f ms at p99; throughput %.0f%% of direct "
                        + "(it makes two upstream calls per request)%n", gateway.p50 - direct.p50,
                        gateway.p99 - direct.p99, 100 * gateway.rps / direct.rps);
            }
        } finally {
            load.close().await();
            servers.close().await();
        }
        return 0;
    }

    record Result(double rps, double p50, double p99, int errors) {
    }

    private static void print(String name, Result r) {
        System.out.printf("%-22s %8.0f req/s   p50 %6.2f ms   p99 %6.2f ms   errors %d%n", name, r.rps, r.p50, r.p99,
                r.errors);
    }

    private static void waitHealthy(WebClient c, int port) {
        for (int i = 0; i < 200; i++) {
            if (c.get(port, "127.0.0.1", "/health").send().await().statusCode() == 200) {
                return;
            }
            try {
                Thread.sleep(25);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IllegalStateException("gateway not healthy");
    }

    /** {@code concurrency} loops, each sending its next request when the previous answered. */
    private static Result drive(WebClient c, int port, int total, int concurrency) {
        long[] latencies = new long[total];
        AtomicInteger next = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        Buffer body = Buffer.buffer(BODY);
        long t0 = System.nanoTime();
        Future<?>[] loops = new Future<?>[concurrency];
        for (int i = 0; i < concurrency; i++) {
            Promise<Void> done = Promise.promise();
            loop(c, port, body, next, total, latencies, errors, done);
            loops[i] = done.future();
        }
        Future.all(Arrays.asList(loops)).await();
        double secs = (System.nanoTime() - t0) / 1e9;
        Arrays.sort(latencies);
        return new Result(total / secs, latencies[total / 2] / 1e6, latencies[(int) (total * 0.99)] / 1e6, errors.get());
    }

    private static void loop(WebClient c, int port, Buffer body, AtomicInteger next, int total, long[] latencies,
                             AtomicInteger errors, Promise<Void> done) {
        int i = next.getAndIncrement();
        if (i >= total) {
            done.tryComplete();
            return;
        }
        long s = System.nanoTime();
        c.post(port, "127.0.0.1", "/generate").sendBuffer(body).onComplete(ar -> {
            latencies[i] = System.nanoTime() - s;
            if (ar.failed() || ar.result().statusCode() != 200) {
                errors.incrementAndGet();
            }
            loop(c, port, body, next, total, latencies, errors, done);
        });
    }
}
