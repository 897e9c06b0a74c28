package dev.tandem.cli;

import dev.tandem.bench.BenchConfig;
import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What {@code bench-pd} runs, validated here so every error names its flag.
 *
 * @param model              {@code --model}: the model directory every worker loads
 * @param cpus               the CPU ids every deployment runs on: the first {@code --cores N} of those this process
 *                           may use (default: all of them)
 * @param prefillCpus        {@code --prefill-cores}: how many of {@code cpus} the prefill worker gets (default half,
 *                           rounded up: prefill is the compute-bound side); the decode worker gets the rest
 * @param promptLen          {@code --prompt-len}: prompt ids per request
 * @param outputLen          {@code --output-len}: tokens each request generates (greedy, EOS ignored)
 * @param rate               {@code --rate}: requests per second, Poisson arrivals ({@code inf}: all at once)
 * @param requests           {@code --requests}: requests per deployment
 * @param seed               {@code --seed}: the workload's prompts and arrivals (same in every row)
 * @param chunkedPrefillSize {@code --chunked-prefill-size}: the third row's prefill chunk (the others keep the
 *                           worker's default)
 * @param transferBackend    {@code --transfer-backend}: mooncake, nixl or fake, for the prefill + decode pair
 * @param transferTransport  {@code --transfer-transport}: auto, shm or tcp
 * @param sloTtftMs          {@code --slo-ttft-ms}: goodput's time-to-first-token objective
 * @param sloItlMs           {@code --slo-itl-ms}: goodput's objective for each request's ITL p99
 * @param warmup             {@code --warmup}: requests sent to each deployment before the timed run (JIT, caches)
 * @param runs               {@code --runs}: how many times the three deployments run, interleaved (medians reported)
 * @param timeoutS           {@code --timeout}: the timed run's limit per deployment, seconds
 * @param startTimeoutS      {@code --start-timeout}: how long a deployment may take to answer its first request
 * @param workerHeap         {@code --worker-heap}: each worker's fixed, pre-touched heap ({@code -Xms = -Xmx})
 * @param out                {@code --out}: where report.txt and the process logs go
 */
public record BenchPdOptions(Path model, List<Integer> cpus, int prefillCpus, int promptLen, int outputLen,
                             double rate, int requests, long seed, int chunkedPrefillSize, String transferBackend,
                             String transferTransport, double sloTtftMs, double sloItlMs, int warmup, int runs, double timeoutS,
                             double startTimeoutS, String workerHeap, Path out) {
    public BenchPdOptions {
        cpus = List.copyOf(cpus);
        if (cpus.size() < 2) {
            throw new ConfigException("--cores", cpus.size(), ">= 2 (the prefill + decode pair splits them)");
        }
        if (prefillCpus < 1 || prefillCpus >= cpus.size()) {
            throw new ConfigException("--prefill-cores", prefillCpus, "1 to --cores - 1 (" + (cpus.size() - 1) + ")");
        }
        positive("--prompt-len", promptLen);
        positive("--output-len", outputLen);
        positive("--requests", requests);
        if (!(rate > 0)) {
            throw new ConfigException("--rate", rate, "requests/s > 0, or inf");
        }
        if (!(timeoutS > 0) || Double.isInfinite(timeoutS)) {
            throw new ConfigException("--timeout", timeoutS, "seconds > 0");
        }
        positive("--chunked-prefill-size", chunkedPrefillSize);
        if (!Set.of("mooncake", "nixl", "fake").contains(transferBackend)) {
            throw new ConfigException("--transfer-backend", transferBackend, "mooncake, nixl or fake");
        }
        if (!Set.of("auto", "shm", "tcp").contains(transferTransport)) {
            throw new ConfigException("--transfer-transport", transferTransport, "auto, shm or tcp");
        }
        if (!(sloTtftMs > 0) || !(sloItlMs > 0)) {
            throw new ConfigException("--slo-ttft-ms/--slo-itl-ms", sloTtftMs + "/" + sloItlMs, "milliseconds > 0");
        }
        if (warmup < 0) {
            throw new ConfigException("--warmup", warmup, "an integer >= 0");
        }
        positive("--runs", runs);
        if (!(startTimeoutS > 0)) {
            throw new ConfigException("--start-timeout", startTimeoutS, "seconds > 0");
        }
        if (!workerHeap.matches("[1-9][0-9]*[mMgG]")) {
            throw new ConfigException("--worker-heap", workerHeap, "a size such as 512m or 2g");
        }
    }

    private static void positive(String flag, int v) {
        if (v < 1) {
            throw new ConfigException(flag, v, "an integer >= 1");
        }
    }

    /** The timed run of one deployment at {@code url}: the workload's fields as bench-serving takes them. */
    public BenchConfig benchConfig(String url) {
        return new BenchConfig(url, requests, rate, promptLen, outputLen, seed, timeoutS);
    }

    public static BenchPdOptions from(Args a) {
        List<Integer> allowed = allowedCpus();
        int cores = a.integer("cores", allowed.size());
        if (cores < 2 || cores > allowed.size()) {
            throw new ConfigException("--cores", cores, "2 to " + allowed.size() + " (the CPUs this process may use: "
                    + allowed + ")");
        }
        List<Integer> cpus = allowed.subList(0, cores);
        BenchPdOptions o = new BenchPdOptions(Path.of(a.required("model")), cpus,
                a.integer("prefill-cores", (cores + 1) / 2), a.integer("prompt-len", 128), a.integer("output-len", 64),
                BenchConfig.parseRate(a.string("rate", "2")), a.integer("requests", 32), a.longValue("seed", 0),
                a.integer("chunked-prefill-size", 128), a.string("transfer-backend", "mooncake"),
                a.string("transfer-transport", "auto"), a.number("slo-ttft-ms", 1000), a.number("slo-itl-ms", 200),
                a.integer("warmup", 2), a.integer("runs", 1), a.number("timeout", 600), a.number("start-timeout", 300),
                a.string("worker-heap", "2g"), Path.of(a.string("out", "target/bench-pd")));
        a.rejectUnknown();
        if (!Files.isRegularFile(o.model().resolve("config.json"))) {
            throw new ConfigException("--model", o.model(), "a model directory with config.json (make one with "
                    + "./run.sh make-tiny-model --out models/bench --preset bench)");
        }
        return o;
    }

    /** The CPUs the prefill worker is pinned to: the first {@link #prefillCpus} of {@link #cpus}. */
    public List<Integer> prefillSet() {
        return cpus.subList(0, prefillCpus);
    }

    /** The CPUs the decode worker is pinned to: the rest. */
    public List<Integer> decodeSet() {
        return cpus.subList(prefillCpus, cpus.size());
    }

    /**
     * The CPUs this process may run on (Linux: {@code Cpus_allowed_list} of {@code /proc/self/status}, e.g. under
     * {@code taskset} or a container's cpuset); elsewhere 0 … availableProcessors - 1.
     */
    static List<Integer> allowedCpus() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return parseCpuList(line.substring(line.indexOf(':') + 1).strip());
                }
            }
        } catch (IOException | RuntimeException notLinux) {
            // fall through
        }
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < Runtime.getRuntime().availableProcessors(); i++) {
            all.add(i);
        }
        return all;
    }

    /** {@code "0-3,8,10-11"} → [0, 1, 2, 3, 8, 10, 11]. */
    static List<Integer> parseCpuList(String s) {
        List<Integer> cpus = new ArrayList<>();
        for (String part : s.split(",")) {
            String[] range = part.strip().split("-");
            int lo = Integer.parseInt(range[0]);
            int hi = range.length > 1 ? Integer.parseInt(range[1]) : lo;
            for (int c = lo; c <= hi; c++) {
                cpus.add(c);
            }
        }
        return cpus;
    }

    /** {@code [0, 1, 2]} → {@code "0,1,2"}, as taskset takes it. */
    static String cpuList(List<Integer> cpus) {
        return String.join(",", cpus.stream().map(String::valueOf).toList());
    }
}
