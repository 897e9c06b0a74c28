package dev.tandem.cli;

import dev.tandem.bench.BenchConfig;
import dev.tandem.bench.BenchReport;
import dev.tandem.bench.BenchRunner;
import dev.tandem.bench.Workload;
import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.config.WorkerConfig;
import dev.tandem.worker.WorkerMainVerticle;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * {@code bench-serving --dataset shared-prefix --compare-hicache off,l2,l2+l3 --model DIR [--max-total-tokens 768]
 * [--hicache-ratio 1.5] [--runs 3]}: the HiCache comparison in one run. For each configuration a colocated
 * worker whose KV pool ({@code --max-total-tokens}) cannot hold every prefix starts in this JVM and the same
 * workload runs through it: {@code off} the radix cache alone, {@code l2} with host memory ({@code --hicache-ratio}
 * times the pool), {@code l2+l3} with file storage too, measured after a first pass filled storage and the worker
 * restarted cold (empty pool and host memory: what storage that survives a restart buys). Each configuration runs
 * {@code --runs} times on a fresh worker; the table shows medians: TTFT p50/p90, request throughput, the token hit
 * rate the benchmark saw, and the worker's page hits per tier from its {@code /metrics}.
 */
final class HiCacheComparison {
    /** The configurations this knows, in the order. */
    static final List<String> CONFIGS = List.of("off", "l2", "l2+l3");

    private final Consumer<String> log;
    private final HttpClient http = HttpClient.newHttpClient();

    HiCacheComparison(Consumer<String> log) {
        this.log = log;
    }

    /** One run's figures. */
    record Row(double ttftP50, double ttftP90, double reqPerS, double hitRate, double l1, double l2, double l3,
               double miss) {
        double[] values() {
            return new double[] {ttftP50, ttftP90, reqPerS, hitRate, l1, l2, l3, miss};
        }
    }

    /** Parses {@code --compare-hicache}'s value; an unknown name is an error naming the flag. */
    static List<String> configs(String value) {
        List<String> out = List.of(value.split(","));
        for (String c : out) {
            if (!CONFIGS.contains(c)) {
                throw new ConfigException("--compare-hicache", c, "a comma-separated list of " + CONFIGS);
            }
        }
        return out;
    }

    /** Runs every configuration {@code runs} times and prints the table (medians) to {@code out}. */
    int run(List<String> configs, String model, int maxTotalTokens, double ratio, int runs, BenchConfig template,
            Workload workload, PrintStream out) throws Exception {
        Path dir = Files.createTempDirectory("tandem-hicache-bench");
        Vertx vertx = Vertx.vertx();
        try {
            warmUp(vertx, model, maxTotalTokens);
            List<String> lines = new ArrayList<>();
            boolean allRan = true;
            for (String c : configs) {
                List<Row> rows = new ArrayList<>();
                for (int r = 0; r < runs; r++) {
                    Path l3 = dir.resolve(c.replace('+', '-') + "-" + r);
                    List<String> flags = flags(c, ratio, l3);
                    if (c.equals("l2+l3")) { // a first pass fills storage; the measured worker starts cold
                        Worker fill = Worker.start(this, vertx, model, maxTotalTokens, flags);
                        new BenchRunner(fill.config(template, workload), workload, msg -> { }).run();
                        fill.stop(vertx);
                    }
                    Worker w = Worker.start(this, vertx, model, maxTotalTokens, flags);
                    log.accept(c + " run " + (r + 1) + "/" + runs + " on " + w.url);
                    BenchReport rep = new BenchRunner(w.config(template, workload), workload, log).run();
                    allRan &= rep.completed() > 0;
                    String metrics = get(w.url + "/metrics");
                    rows.add(new Row(rep.ttftMs().p50(), rep.ttftMs().p90(), rep.requestThroughput(),
                            rep.cacheHitRate(), hits(metrics, "l1"), hits(metrics, "l2"), hits(metrics, "l3"),
                            sum(metrics, "tandem_hicache_miss_pages_total{", "")));
                    w.stop(vertx);
                }
                double[] m = medians(rows);
                lines.add(String.format(Locale.ROOT, "%-7s %8.1f ms %8.1f ms %9.2f %8.1f%% %8.0f %8.0f %8.0f %8.0f",
                        c, m[0], m[1], m[2], 100 * m[3], m[4], m[5], m[6], m[7]));
            }
            out.printf("%-7s %11s %11s %9s %9s %8s %8s %8s %8s%n", "config", "TTFT p50", "TTFT p90", "req/s",
                    "hit rate", "L1 pg", "L2 pg", "L3 pg", "miss pg");
            lines.forEach(out::println);
            out.printf(Locale.ROOT, "(medians of %d runs; KV pool %d tokens, host memory %.1fx the pool; page hits "
                    + "from the worker's /metrics)%n", runs, maxTotalTokens, ratio);
            return allRan ? 0 : 1;
        } finally {
            vertx.close().await();
            deleteTree(dir);
        }
    }

    private static List<String> flags(String config, double ratio, Path l3) {
        List<String> f = new ArrayList<>();
        if (!config.equals("off")) {
            f.addAll(List.of("--enable-hierarchical-cache", "--hicache-ratio", String.valueOf(ratio)));
        }
        if (config.equals("l2+l3")) {
            f.addAll(List.of("--hicache-storage-backend", "file", "--hicache-storage-dir", l3.toString(),
                    "--hicache-storage-prefetch-policy", "wait_complete"));
        }
        return f;
    }

    /** A short run on a throwaway worker keeps JIT compilation out of the first configuration's figures. */
    private void warmUp(Vertx vertx, String model, int maxTotalTokens) throws Exception {
        Worker w = Worker.start(this, vertx, model, maxTotalTokens, List.of());
        log.accept("warm-up: 8 requests through " + w.url);
        new BenchRunner(new BenchConfig(w.url, 8, Double.POSITIVE_INFINITY, 64, 4, 99, 600), msg -> { }).run();
        w.stop(vertx);
    }

    /** A colocated worker deployed in this JVM. */
    private record Worker(String url, String deploymentId) {
        static Worker start(HiCacheComparison c, Vertx vertx, String model, int maxTotalTokens, List<String> flags)
                throws Exception {
            int port = freePort();
            List<String> argv = new ArrayList<>(List.of("--model", model, "--host", "127.0.0.1", "--port",
                    String.valueOf(port), "--max-total-tokens", String.valueOf(maxTotalTokens),
                    "--max-running-requests", "8"));
            argv.addAll(flags);
            WorkerConfig cfg = WorkerConfig.from(Map.of(), Args.parse(argv.toArray(String[]::new),
                    Set.of("enable-hierarchical-cache")));
            String id = vertx.deployVerticle(new WorkerMainVerticle(cfg)).await();
            Worker w = new Worker("http://127.0.0.1:" + port, id);
            c.awaitHealthy(w.url);
            return w;
        }

        BenchConfig config(BenchConfig t, Workload workload) {
            return new BenchConfig(url, workload.size(), t.requestRate(), t.inputLen(), t.outputLen(), t.seed(),
                    t.timeoutS());
        }

        /** Undeploys it (its storage writes finish first, bounded). */
        void stop(Vertx vertx) {
            vertx.undeploy(deploymentId).await();
        }
    }

    /** Pages a tier served ({@code tandem_hicache_hit_pages_total{tier=...}}, 0 without the hierarchy). */
    private static double hits(String metrics, String tier) {
        return sum(metrics, "tandem_hicache_hit_pages_total{", "tier=\"" + tier + "\"");
    }

    private static double sum(String metrics, String prefix, String tag) {
        return metrics.lines().filter(l -> l.startsWith(prefix) && l.contains(tag))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static double[] medians(List<Row> rows) {
        double[] out = new double[8];
        for (int i = 0; i < 8; i++) {
            int col = i;
            double[] v = rows.stream().mapToDouble(r -> r.values()[col]).sorted().toArray();
            out[i] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
        return out;
    }

    private String get(String url) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(java.time.Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private void awaitHealthy(String url) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(url + "/health"))
                        .timeout(java.time.Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("worker " + url + " never became healthy");
    }

    private static int freePort() throws IOException {
        return dev.tandem.launch.FreePorts.loopback();
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
