package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.config.WorkerConfig;
import dev.tandem.gateway.GatewayVerticle;
import dev.tandem.worker.WorkerMainVerticle;
import io.vertx.core.Vertx;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.List;

/**
 * {@code quickstart [--model DIR] [--port 8000]}: a gateway, a prefill and a decode worker in one JVM on a
 * Hazelcast-clustered event bus over loopback (the same verticles as separate processes would run), waits for
 * the gateway's {@code /health}, and prints a curl line. {@code ./run.sh} with no arguments runs it.
 */
public final class QuickstartCommand {
    private QuickstartCommand() {
    }

    public static int run(String[] argv) throws Exception {
        Args a = Args.parse(argv, Set.of("no-cluster"));
        String model = a.string("model", "models/tiny");
        int port = a.integer("port", 8000);
        int prefillPort = a.integer("prefill-port", 30001);
        int decodePort = a.integer("decode-port", 30002);
        int bootstrap = a.integer("bootstrap-port", 8998);
        boolean cluster = !a.flag("no-cluster");
        a.rejectUnknown();

        Vertx vertx = VertxFactory.create(cluster, "127.0.0.1");
        WorkerConfig prefill = worker("prefill", model, prefillPort, bootstrap);
        WorkerConfig decode = worker("decode", model, decodePort, bootstrap);
        GatewayConfig gw = GatewayConfig.from(Args.parse(new String[] {"--port", String.valueOf(port),
                "--prefill", "http://127.0.0.1:" + prefillPort, "--prefill-bootstrap-ports", String.valueOf(bootstrap),
                "--decode", "http://127.0.0.1:" + decodePort, "--health-interval", "1"}, Set.of()));
        return Serve.until(vertx, "quick start", List.of(() -> new WorkerMainVerticle(prefill),
                () -> new WorkerMainVerticle(decode), () -> new GatewayVerticle(gw)), () -> {
            awaitHealthy("http://127.0.0.1:" + port + "/health");
            System.out.printf("""

                Tandem is up: gateway http://127.0.0.1:%d -> prefill :%d, decode :%d (%s, clustered: %s)
                (the tiny model has random weights: its text is gibberish by design)

                curl -s http://127.0.0.1:%d/generate -H 'Content-Type: application/json' \\
                     -d '{"text": "Hello, Tandem", "sampling_params": {"max_new_tokens": 16, "temperature": 0}}'

                curl -s http://127.0.0.1:%d/v1/chat/completions -H 'Content-Type: application/json' \\
                     -d '{"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 16}'

                Ctrl-C stops everything.
                """, port, prefillPort, decodePort, model, cluster, port, port);
        });
    }

    /** The prefill worker publishes its prefix cache's events on the event bus, as {@code conf/prefill.json} does. */
    private static WorkerConfig worker(String mode, String model, int port, int bootstrap) {
        return WorkerConfig.from(Map.of(), Args.parse(new String[] {"--mode", mode, "--model", model,
                "--port", String.valueOf(port), "--bootstrap-port", String.valueOf(bootstrap), "--kv-events-config",
                mode.equals("prefill") ? "{\"publisher\": \"eventbus\"}" : "{}"}, Set.of()));
    }

    private static void awaitHealthy(String url) {
        HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        for (int i = 0; i < 600; i++) {
            try {
                if (c.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode() == 200) {
                    return;
                }
                Thread.sleep(100);
            } catch (java.io.IOException notYet) {
                // still starting
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IllegalStateException("gateway " + url + " did not become healthy within 60 s");
    }

}
