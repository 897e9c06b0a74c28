package dev.tandem.cli;

import dev.tandem.bench.BenchRunner;
import dev.tandem.bench.Goodput;
import dev.tandem.bench.PdTable;
import dev.tandem.bench.ReportFormatter;
import dev.tandem.bench.RequestResult;
import dev.tandem.bench.Workload;
import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.launch.ChildJvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code bench-pd --model DIR [--cores N] [--prefill-cores K] [--prompt-len 128] [--output-len 64] [--rate 2]
 * [--requests 32] [--seed 0] [--chunked-prefill-size 128] [--transfer-backend mooncake] [--transfer-transport auto]
 * [--slo-ttft-ms 1000] [--slo-itl-ms 200] [--warmup 2] [--runs 1] [--timeout 600] [--start-timeout 300] [--worker-heap 2g]
 * [--out target/bench-pd]}: runs, one after the other on the same CPUs, (a) a colocated worker, (b) a prefill +
 * decode pair splitting the CPUs behind a gateway, (c) a colocated worker with a smaller prefill chunk, each as
 * separate JVMs ({@link PdDeployment}); drives each with the same open-loop {@code bench-serving} workload after a
 * warm-up (with {@code --runs R}, R times interleaved); prints one table (TTFT, ITL, E2E p50/p99, throughput, goodput at the SLO, and whether each row's outputs
 * equal row a's; medians over the runs) and writes it with each row's full report to {@code <out>/report.txt}. Exits 0 when every request
 * of every row succeeded with the same outputs as row a, 1 otherwise.
 */
public final class BenchPdCommand {
    /** Hazelcast ports this run's members may take (two workers, and room for ports another process holds). */
    private static final int CLUSTER_PORTS = 6;

    private BenchPdCommand() {
    }

    /** One row: its table line and, per run, every request's result (output ids included) in send order. */
    public record RowResult(PdTable.Row row, List<List<RequestResult>> runs) {
    }

    /**
     * A whole run.
     *
     * @param pids every process the run started (all stopped by the time it returns)
     * @param text the table and the per-row reports, as written to report.txt
     */
    public record Result(List<RowResult> rows, List<Long> pids, String text) {
        /** Every request of every row and run succeeded with the tokens of row a's first run. */
        public boolean clean() {
            List<RequestResult> ref = rows.get(0).runs().get(0);
            return rows.stream().allMatch(r -> r.runs().stream().allMatch(run -> sameOutputs(ref, run) == ref.size()));
        }
    }

    public static int run(String[] argv) throws Exception {
        BenchPdOptions o = BenchPdOptions.from(Args.parse(argv, Set.of()));
        Result r = execute(o, msg -> System.err.println("[bench-pd] " + msg));
        System.out.print(r.text());
        System.out.println("(written to " + o.out().resolve("report.txt") + ", process logs in "
                + o.out().resolve("logs") + ")");
        return r.clean() ? 0 : 1;
    }

    /**
     * Runs the three deployments in turn, {@code --runs} times interleaved (a, b, c, a, b, c, ...); every process is
     * stopped before the next deployment starts and before it returns.
     */
    public static Result execute(BenchPdOptions o, Consumer<String> log) throws Exception {
        Path logs = o.out().resolve("logs");
        Files.createDirectories(logs);
        try (Stream<Path> old = Files.list(logs)) {
            for (Path f : old.filter(f -> f.toString().endsWith(".log")).toList()) {
                Files.delete(f); // logs are appended across restarts: start this run's clean
            }
        }
        Path clusterXml = clusterConfig(o.out());
        boolean pin = PdLauncher.tasksetWorks(o.cpus().get(0));
        if (!pin) {
            log.accept("taskset not found or not working: the processes are NOT pinned to their CPUs");
        }
        Workload workload = Workload.generate(o.requests(), o.promptLen(), o.rate(), o.seed());
        int[][] warm = Workload.generate(Math.max(1, o.warmup()), o.promptLen(), o.rate(), o.seed() + 1).inputIds();
        Map<PdDeployment.Kind, List<BenchRunner.Outcome>> outcomes = new EnumMap<>(PdDeployment.Kind.class);
        Map<PdDeployment.Kind, String> layouts = new EnumMap<>(PdDeployment.Kind.class);
        List<Long> pids = new ArrayList<>();
        StringBuilder details = new StringBuilder();
        for (int run = 1; run <= o.runs(); run++) {
            for (PdDeployment.Kind kind : PdDeployment.Kind.values()) {
                String label = kind.label + (o.runs() > 1 ? " (run " + run + "/" + o.runs() + ")" : "");
                log.accept("starting " + label);
                try (PdDeployment d = PdDeployment.start(kind, o, clusterXml, pin, log)) {
                    pids.addAll(d.pids());
                    // At least one request: a PD gateway answers 503 until it has seen both workers healthy.
                    d.warmUp(o.warmup() == 0 ? Arrays.copyOf(warm, 1) : warm, o.warmup() == 0 ? 1 : o.outputLen(),
                            o.startTimeoutS());
                    log.accept(label + ": warmed up; timed run");
                    BenchRunner.Outcome out = new BenchRunner(o.benchConfig(d.url), workload, log).runAll();
                    outcomes.computeIfAbsent(kind, k -> new ArrayList<>()).add(out);
                    layouts.put(kind, d.layout);
                    details.append("\n").append(label).append(": ").append(d.layout).append('\n')
                            .append(ReportFormatter.text(out.report(), o.benchConfig(d.url)));
                }
            }
        }
        List<RequestResult> ref = outcomes.get(PdDeployment.Kind.COLOCATED).get(0).results();
        List<RowResult> rows = new ArrayList<>();
        for (PdDeployment.Kind kind : PdDeployment.Kind.values()) {
            List<BenchRunner.Outcome> outs = outcomes.get(kind);
            int same = 0;
            int compared = 0;
            for (int i = kind == PdDeployment.Kind.COLOCATED ? 1 : 0; i < outs.size(); i++) {
                same += sameOutputs(ref, outs.get(i).results());
                compared += ref.size();
            }
            String sameAs = kind == PdDeployment.Kind.COLOCATED ? (compared == same ? "ref" : "ref!" + same + "/"
                    + compared) : same + "/" + compared;
            rows.add(new RowResult(new PdTable.Row(kind.label, layouts.get(kind),
                    outs.stream().map(BenchRunner.Outcome::report).toList(),
                    outs.stream().map(x -> Goodput.of(x.results(), x.report().durationS(), o.sloTtftMs(),
                            o.sloItlMs())).toList(), sameAs),
                    outs.stream().map(BenchRunner.Outcome::results).toList()));
        }
        String text = header(o, pin) + PdTable.format(rows.stream().map(RowResult::row).toList(), o.sloTtftMs(),
                o.sloItlMs());
        Result result = new Result(List.copyOf(rows), List.copyOf(pids), text);
        if (!result.clean()) {
            text += "NOT CLEAN: some request failed or produced other tokens than row a's first run (see =ref and the "
                    + "first errors)\n";
            result = new Result(result.rows(), result.pids(), text);
        }
        Files.writeString(o.out().resolve("report.txt"), text + details);
        return result;
    }

    /** How many requests succeeded in both runs with identical output ids (the runs sent the same prompts). */
    static int sameOutputs(List<RequestResult> ref, List<RequestResult> other) {
        int same = 0;
        for (int i = 0; i < Math.min(ref.size(), other.size()); i++) {
            RequestResult a = ref.get(i);
            RequestResult b = other.get(i);
            if (a.success() && b.success() && a.outputIds().length > 0
                    && Arrays.equals(a.outputIds(), b.outputIds())) {
                same++;
            }
        }
        return same;
    }

    private static String header(BenchPdOptions o, boolean pin) {
        return String.format(Locale.ROOT, "bench-pd %s: model %s, CPUs %s (%d; prefill %d, decode %d)%s; %d requests "
                        + "of %d prompt ids -> %d tokens, %s req/s (seed %d), %d warm-up requests each, %d run(s)%n",
                Instant.now(), o.model(), BenchPdOptions.cpuList(o.cpus()), o.cpus().size(), o.prefillCpus(),
                o.decodeSet().size(), pin ? ", pinned" : ", NOT pinned", o.requests(), o.promptLen(), o.outputLen(),
                o.benchConfig("http://127.0.0.1:1").rateLabel(), o.seed(), o.warmup(), o.runs());
    }

    /**
     * This run's Hazelcast config: the shipped one (or {@code -Dvertx.hazelcast.config}) under a cluster name of its
     * own, so the pair never joins, and is never joined by, another Tandem cluster on this host; and on ports of its
     * own, listed as its members: the shipped member entry {@code 127.0.0.1} means ports 5701-5703 only, and when
     * other Hazelcast members on the host hold those, two members on higher ports never find each other.
     */
    static Path clusterConfig(Path out) throws IOException {
        Path shipped = Path.of(System.getProperty("vertx.hazelcast.config", "conf/cluster.xml"));
        if (!Files.isRegularFile(shipped)) {
            throw new ConfigException("cluster config " + shipped + " not found (run from the repository root or set "
                    + "-Dvertx.hazelcast.config)");
        }
        String xml = Files.readString(shipped);
        String name = "<cluster-name>tandem</cluster-name>";
        String member = "<member>127.0.0.1</member>";
        java.util.regex.Pattern port = java.util.regex.Pattern.compile("<port [^>]*>\\d+</port>");
        if (!xml.contains(name) || !xml.contains(member) || !port.matcher(xml).find()) {
            throw new ConfigException("cluster config " + shipped + " is not the shipped loopback one (" + name + ", "
                    + member + ", <port …>): bench-pd runs its processes on this host only");
        }
        int base = ChildJvm.freePort();
        StringBuilder members = new StringBuilder();
        for (int i = 0; i < CLUSTER_PORTS; i++) {
            members.append("<member>127.0.0.1:").append(base + i).append("</member>");
        }
        xml = port.matcher(xml.replace(name, "<cluster-name>tandem-bench-pd-" + ProcessHandle.current().pid()
                + "</cluster-name>").replace(member, members)).replaceFirst("<port auto-increment=\"true\" port-count=\""
                + CLUSTER_PORTS + "\">" + base + "</port>");
        Path p = out.resolve("cluster.xml");
        Files.writeString(p, xml);
        return p;
    }
}
