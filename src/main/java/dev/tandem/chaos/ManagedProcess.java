package dev.tandem.chaos;

import dev.tandem.config.ClusterName;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One Tandem JVM the soak owns: started with this JVM's own flags and class path (so {@code ./run.sh chaos} and a
 * test start the same code), restarted on the same ports, signalled by pid. Its output is appended to
 * {@code <logs>/<name>.log} across restarts.
 */
final class ManagedProcess implements AutoCloseable {
    final String name;
    final int port;
    private final List<String> args;
    private final Path log;
    private Process process;
    private boolean stopped;
    private int starts;

    ManagedProcess(String name, int port, Path logs, List<String> args) {
        this.name = name;
        this.port = port;
        this.args = List.copyOf(args);
        this.log = logs.resolve(name + ".log");
    }

    /** This JVM's launch flags minus heap sizing and agents (each child gets a small heap of its own). */
    static List<String> childJvmFlags() {
        List<String> flags = new ArrayList<>();
        for (String f : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!f.startsWith("-Xm") && !f.startsWith("-Xss") && !f.startsWith("-agentlib") && !f.startsWith("-javaagent")
                    && !f.equals("-XX:+AlwaysPreTouch") && !f.startsWith("-XX:InitialHeapSize")
                    && !f.startsWith("-XX:MaxHeapSize") && !f.startsWith("-Dsurefire") && !f.startsWith("-Dbasedir")) {
                flags.add(f);
            }
        }
        flags.add("-Xmx768m");
        return flags;
    }

    synchronized void start() throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(childJvmFlags());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.tandem.Main"));
        cmd.addAll(args);
        Files.createDirectories(log.getParent());
        Files.writeString(log, "---- start " + (++starts) + ": " + String.join(" ", args) + "\n",
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // the soak's processes form a cluster of their own, never joined with a deployment on the same host
        pb.environment().putIfAbsent(ClusterName.ENV, "tandem-chaos-" + ProcessHandle.current().pid());
        process = pb.start();
        stopped = false;
    }

    synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    synchronized boolean stopped() {
        return stopped;
    }

    synchronized void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
        stopped = false;
    }

    /** SIGSTOP: the process freezes with every socket open, as in a long GC pause or a hung host. */
    synchronized void freeze() throws IOException, InterruptedException {
        signal("STOP");
        stopped = true;
    }

    synchronized void thaw() throws IOException, InterruptedException {
        signal("CONT");
        stopped = false;
    }

    /** SIGTERM and wait (bounded) for a graceful exit; SIGKILL past it. */
    synchronized void terminate() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private void signal(String sig) throws IOException, InterruptedException {
        if (process == null || !process.isAlive()) {
            return;
        }
        Process k = new ProcessBuilder("kill", "-" + sig, String.valueOf(process.pid())).inheritIO().start();
        if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
            throw new IOException("kill -" + sig + " " + process.pid() + " failed");
        }
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public synchronized void close() throws InterruptedException {
        if (stopped) {
            try {
                thaw(); // a stopped JVM ignores SIGTERM until continued; SIGKILL works either way
            } catch (IOException ignored) {
                // it is killed below
            }
        }
        kill();
    }
}
