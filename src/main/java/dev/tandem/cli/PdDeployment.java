package dev.tandem.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.launch.ChildGroup;
import dev.tandem.launch.ChildJvm;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One deployment {@code bench-pd} measures, as separate JVMs on loopback, each pinned with {@code taskset} to its
 * CPUs and its engine pool sized to them ({@code --threads}): a colocated worker on all the CPUs, or a prefill and a
 * decode worker splitting them (clustered, the KV over the chosen transfer backend) behind a gateway that shares all
 * of them. Every process belongs to one {@link ChildGroup}: {@link #close()} (and Ctrl-C) stops them by pid.
 */
final class PdDeployment implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The three rows of the table. */
    enum Kind {
        COLOCATED("a colocated"), PD("b prefill+decode"), SMALL_CHUNK("c small chunks");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    final Kind kind;
    final String layout;
    final String url;
    private final ChildGroup group;
    private final List<ChildJvm> started;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private PdDeployment(Kind kind, String layout, String url, ChildGroup group, List<ChildJvm> started) {
        this.kind = kind;
        this.layout = layout;
        this.url = url;
        this.group = group;
        this.started = started;
    }

    /**
     * Starts the processes of {@code kind} and waits until each answers {@code /health}; on any failure every
     * process already started is stopped and the error names the one that failed, with its log tail.
     *
     * @param clusterXml the Hazelcast config of this run (its own cluster name, so no other Tandem on the host joins)
     * @param pin        whether to prefix each JVM with {@code taskset -c}
     */
    static PdDeployment start(Kind kind, BenchPdOptions o, Path clusterXml, boolean pin, Consumer<String> log)
            throws IOException, InterruptedException {
        ChildGroup group = new ChildGroup();
        try {
            PdLauncher l = new PdLauncher(o, clusterXml, pin, group, o.out().resolve("logs"));
            String tag = kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            List<Integer> all = o.cpus();
            String where = pin ? "" : " (not pinned: taskset not found)";
            return switch (kind) {
                case COLOCATED, SMALL_CHUNK -> {
                    List<String> extra = kind == Kind.SMALL_CHUNK
                            ? List.of("--chunked-prefill-size", String.valueOf(o.chunkedPrefillSize())) : List.of();
                    PdLauncher.Started w = l.worker(tag + "-worker", all, "null", extra, log);
                    group.awaitHealthy(w.jvm(), w.url() + "/health", o.startTimeoutS());
                    yield new PdDeployment(kind, "1 worker on CPUs " + BenchPdOptions.cpuList(all) + " (--threads "
                            + all.size() + (extra.isEmpty() ? ", default chunked prefill" : ", " + String.join(" ",
                            extra)) + ")" + where, w.url(), group, List.of(w.jvm()));
                }
                case PD -> {
                    int bootstrap = ChildJvm.freePort();
                    List<String> kv = List.of("--cluster", "--transfer-backend", o.transferBackend(),
                            "--transfer-transport", o.transferTransport());
                    List<String> pf = new ArrayList<>(kv);
                    pf.addAll(List.of("--bootstrap-port", String.valueOf(bootstrap)));
                    PdLauncher.Started p = l.worker(tag + "-prefill", o.prefillSet(), "prefill", pf, log);
                    PdLauncher.Started d = l.worker(tag + "-decode", o.decodeSet(), "decode", kv, log);
                    // The gateway starts alongside: it health-checks its workers and routes once both answer.
                    PdLauncher.Started g = l.gateway(tag + "-gateway", all, p.url(), bootstrap, d.url(), log);
                    group.awaitHealthy(p.jvm(), p.url() + "/health", o.startTimeoutS());
                    group.awaitHealthy(d.jvm(), d.url() + "/health", o.startTimeoutS());
                    group.awaitHealthy(g.jvm(), g.url() + "/health", o.startTimeoutS());
                    yield new PdDeployment(kind, "prefill on CPUs " + BenchPdOptions.cpuList(o.prefillSet())
                            + " (--threads " + o.prefillCpus() + "), decode on CPUs "
                            + BenchPdOptions.cpuList(o.decodeSet()) + " (--threads " + o.decodeSet().size()
                            + "), gateway on CPUs " + BenchPdOptions.cpuList(all) + "; KV over " + o.transferBackend()
                            + "/" + o.transferTransport() + where, g.url(), group, List.of(p.jvm(), d.jvm(), g.jvm()));
                }
            };
        } catch (IOException | InterruptedException | RuntimeException e) {
            group.close();
            throw e;
        }
    }

    /** The pids of this deployment's processes. */
    List<Long> pids() {
        return group.pids();
    }

    /**
     * Sends {@code prompts} one at a time (not streamed) and waits for each answer: the first is retried until the
     * start deadline (a gateway answers 503 until its health checks have seen both workers), the rest must succeed.
     */
    void warmUp(int[][] prompts, int outputLen, double deadlineS) throws InterruptedException {
        long end = System.nanoTime() + (long) (deadlineS * 1e9);
        for (int i = 0; i < prompts.length; i++) {
            String last;
            while (true) {
                last = post(prompts[i], outputLen, Math.max(1, (end - System.nanoTime()) / 1_000_000_000L));
                if (last == null) {
                    break;
                }
                for (ChildJvm c : started) {
                    if (!c.alive()) {
                        throw ChildGroup.failure(c, "exited with code " + c.exitCode() + " during warm-up");
                    }
                }
                if (i > 0 || System.nanoTime() > end) {
                    ChildJvm front = started.get(started.size() - 1);
                    StringBuilder others = new StringBuilder();
                    for (ChildJvm c : started.subList(0, started.size() - 1)) {
                        others.append("\n").append(c.name()).append(" (pid ").append(c.pid()).append(", running) ")
                                .append(c.log()).append(":\n").append(c.logTail(8).indent(4).stripTrailing());
                    }
                    throw new IllegalStateException(ChildGroup.failure(front, "did not answer warm-up request "
                            + (i + 1) + ": " + last).getMessage() + others);
                }
                Thread.sleep(500);
            }
        }
    }

    /** null when {@code /generate} answered 200, else what it answered. */
    private String post(int[] ids, int outputLen, long timeoutS) throws InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        var arr = body.putArray("input_ids");
        for (int id : ids) {
            arr.add(id);
        }
        body.putObject("sampling_params").put("max_new_tokens", outputLen).put("temperature", 0)
                .put("ignore_eos", true);
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/generate"))
                    .timeout(Duration.ofSeconds(timeoutS)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? null : "HTTP " + r.statusCode() + " " + r.body().strip();
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() {
        group.close();
    }
}
