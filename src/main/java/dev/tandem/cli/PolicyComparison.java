package dev.tandem.cli;

import dev.tandem.bench.BenchConfig;
import dev.tandem.bench.BenchReport;
import dev.tandem.bench.BenchRunner;
import dev.tandem.bench.Workload;
import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.config.WorkerConfig;
import dev.tandem.gateway.GatewayVerticle;
import dev.tandem.worker.WorkerMainVerticle;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * {@code bench-serving --compare-policies cache_aware,round_robin --model DIR}: starts {@code --num-prefill} prefill
 * workers (publishing KV events on the event bus) and one decode worker in this JVM, then for each policy a gateway
 * routing the prefill pool by it, and runs the same workload through each in turn. Before each run every prefill
 * cache is flushed, so each policy starts cold; a short warm-up through the first gateway (then flushed) keeps JIT
 * compilation out of the first policy's figures.
 */
final class PolicyComparison {
    private final Consumer<String> log;
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<String> prefillUrls = new ArrayList<>();

    PolicyComparison(Consumer<String> log) {
        this.log = log;
    }

    /** One policy's run: the config it ran with (its gateway's URL) and the report. */
    record Run(BenchConfig config, BenchReport report) {
    }

    /**
     * Runs {@code workload} once per policy; results in the order of {@code policies}. {@code maxTotalTokens} sizes
     * the prefill workers' KV pools (so, their prefix caches); the decode worker gets at least 32768 tokens so it
     * never limits the comparison.
     */
    Map<String, Run> run(List<String> policies, String model, int numPrefill, int maxTotalTokens,
                                 BenchConfig template, Workload workload) throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            List<Integer> bootstrapPorts = new ArrayList<>();
            for (int i = 0; i < numPrefill; i++) {
                int port = freePort();
                int bootstrap = freePort();
                deploy(vertx, worker(model, maxTotalTokens, "--mode", "prefill", "--port", String.valueOf(port),
                        "--bootstrap-port", String.valueOf(bootstrap), "--kv-events-config",
                        "{\"publisher\": \"eventbus\"}"));
                prefillUrls.add("http://127.0.0.1:" + port);
                bootstrapPorts.add(bootstrap);
            }
            int decodePort = freePort();
            deploy(vertx, worker(model, Math.max(32768, maxTotalTokens), "--mode", "decode", "--port",
                    String.valueOf(decodePort)));
            Map<String, Run> out = new LinkedHashMap<>();
            boolean warm = false;
            for (String policy : policies) {
                int gwPort = freePort();
                List<String> argv = new ArrayList<>(List.of("--port", String.valueOf(gwPort), "--prefill"));
                argv.addAll(prefillUrls);
                argv.add("--prefill-bootstrap-ports");
                bootstrapPorts.forEach(p -> argv.add(String.valueOf(p)));
                argv.addAll(List.of("--decode", "http://127.0.0.1:" + decodePort, "--prefill-policy", policy,
                        "--decode-policy", "round_robin", "--tokenizer-path", model, "--health-interval", "0.5"));
                GatewayConfig gc = GatewayConfig.from(Args.parse(argv.toArray(String[]::new), Set.of()));
                String gwId = vertx.deployVerticle(new GatewayVerticle(gc)).await();
                String url = "http://127.0.0.1:" + gwPort;
                awaitHealthy(url);
                BenchConfig cfg = new BenchConfig(url, workload.size(), template.requestRate(), template.inputLen(),
                        template.outputLen(), template.seed(), template.timeoutS());
                if (!warm) {
                    log.accept("warm-up: 8 requests through " + url);
                    new BenchRunner(new BenchConfig(url, 8, Double.POSITIVE_INFINITY, 64, 4, 99, 600),
                            msg -> { }).run();
                    warm = true;
                }
                flushAll();
                log.accept("policy " + policy + ": gateway " + url);
                out.put(policy, new Run(cfg, new BenchRunner(cfg, workload, log).run()));
                vertx.undeploy(gwId).await();
            }
            return out;
        } finally {
            vertx.close().await();
        }
    }

    private static WorkerConfig worker(String model, int maxTotalTokens, String... flags) {
        List<String> argv = new ArrayList<>(List.of("--model", model, "--host", "127.0.0.1", "--max-total-tokens",
                String.valueOf(maxTotalTokens)));
        argv.addAll(List.of(flags));
        return WorkerConfig.from(Map.of(), Args.parse(argv.toArray(String[]::new), Set.of()));
    }

    private void deploy(Vertx vertx, WorkerConfig cfg) {
        log.accept("starting " + cfg.mode() + " worker on :" + cfg.port());
        vertx.deployVerticle(new WorkerMainVerticle(cfg)).await();
    }

    /** Empties every prefill worker's prefix cache (retrying while the last run's requests drain). */
    private void flushAll() throws IOException, InterruptedException {
        for (String u : prefillUrls) {
            for (int i = 0; ; i++) {
                int status = http.send(HttpRequest.newBuilder(URI.create(u + "/flush_cache"))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode();
                if (status == 200) {
                    break;
                }
                if (i == 600) {
                    throw new IllegalStateException(u + " would not flush its cache (HTTP " + status + ")");
                }
                Thread.sleep(100);
            }
        }
    }

    private void awaitHealthy(String url) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(url + "/health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("gateway " + url + " never became healthy");
    }

    private static int freePort() throws IOException {
        return dev.tandem.launch.FreePorts.loopback();
    }
}
