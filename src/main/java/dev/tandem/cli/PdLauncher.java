package dev.tandem.cli;

import dev.tandem.launch.ChildGroup;
import dev.tandem.launch.ChildJvm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Starts {@code bench-pd}'s child JVMs: each behind {@code taskset -c CPUS} (when pinning), workers with a fixed,
 * pre-touched heap of {@code --worker-heap} (as {@code run.sh} gives benchmarks, so no first touch lands in a timed
 * run) and their engine pool sized to their CPUs, the gateway with a small heap, all on this run's Hazelcast config.
 */
final class PdLauncher {
    private static final String GATEWAY_HEAP = "-Xmx512m";

    /** A started process and the base URL it serves. */
    record Started(ChildJvm jvm, String url) {
    }

    private final BenchPdOptions o;
    private final Path clusterXml;
    private final boolean pin;
    private final ChildGroup group;
    private final Path logs;

    PdLauncher(BenchPdOptions o, Path clusterXml, boolean pin, ChildGroup group, Path logs) {
        this.o = o;
        this.clusterXml = clusterXml;
        this.pin = pin;
        this.group = group;
        this.logs = logs;
    }

    /** A worker in {@code mode} (null: colocated) on {@code cpus}, its engine pool one thread per CPU. */
    Started worker(String name, List<Integer> cpus, String mode, List<String> extra, Consumer<String> log)
            throws IOException {
        int port = ChildJvm.freePort();
        List<String> args = new ArrayList<>(List.of("worker", "--mode", mode, "--model", o.model().toString(),
                "--host", "127.0.0.1", "--port", String.valueOf(port), "--threads", String.valueOf(cpus.size())));
        args.addAll(extra);
        List<String> heap = List.of("-Xms" + o.workerHeap(), "-Xmx" + o.workerHeap(), "-XX:+AlwaysPreTouch");
        return start(name, cpus, heap, args, port, log);
    }

    /** The gateway over one prefill and one decode worker, round robin (there is one of each). */
    Started gateway(String name, List<Integer> cpus, String prefillUrl, int bootstrap, String decodeUrl,
                    Consumer<String> log) throws IOException {
        int port = ChildJvm.freePort();
        List<String> args = List.of("gateway", "--host", "127.0.0.1", "--port", String.valueOf(port), "--prefill",
                prefillUrl, "--prefill-bootstrap-ports", String.valueOf(bootstrap), "--decode", decodeUrl, "--policy",
                "round_robin", "--timeout", String.valueOf((long) Math.ceil(o.timeoutS())), "--health-interval", "1");
        return start(name, cpus, List.of(GATEWAY_HEAP), args, port, log);
    }

    private Started start(String name, List<Integer> cpus, List<String> heap, List<String> args, int port,
                          Consumer<String> log) throws IOException {
        List<String> prefix = pin ? List.of("taskset", "-c", BenchPdOptions.cpuList(cpus)) : List.of();
        List<String> flags = new ArrayList<>(heap);
        flags.add("-Dvertx.hazelcast.config=" + clusterXml.toAbsolutePath());
        ChildJvm jvm = group.start(new ChildJvm(name, logs, prefix, flags, args));
        log.accept(name + " (pid " + jvm.pid() + ") on CPUs " + BenchPdOptions.cpuList(cpus) + ", port " + port
                + ", log " + jvm.log());
        return new Started(jvm, "http://127.0.0.1:" + port);
    }

    /** Whether {@code taskset} can pin a process to {@code cpu} here (util-linux on Linux). */
    static boolean tasksetWorks(int cpu) {
        try {
            Process p = new ProcessBuilder("taskset", "-c", String.valueOf(cpu), "true").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
