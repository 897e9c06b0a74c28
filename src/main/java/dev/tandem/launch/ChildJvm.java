package dev.tandem.launch;

import dev.tandem.config.ClusterName;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One Tandem JVM ({@code dev.tandem.Main args…}) run as a child process: started with this JVM's flags (minus heap
 * sizing, pre-touch, agents and test-runner properties, which each child is given on its own) and class path, its
 * stdout and stderr appended to {@code <logs>/<name>.log} across restarts, stopped by pid.
 */
public final class ChildJvm implements AutoCloseable {
    private final String name;
    private final Path log;
    private final List<String> command;
    private final List<String> args;
    private Process process;
    private int starts;

    /**
     * @param prefix   what runs the JVM, e.g. {@code taskset -c 0,1} (empty: java itself)
     * @param jvmFlags added after the inherited ones (heap size, {@code -D} properties)
     * @param args     the Tandem subcommand and its flags
     */
    public ChildJvm(String name, Path logs, List<String> prefix, List<String> jvmFlags, List<String> args) {
        this.name = name;
        this.log = logs.resolve(name + ".log");
        this.args = List.copyOf(args);
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(inheritedFlags());
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.tandem.Main"));
        cmd.addAll(args);
        this.command = List.copyOf(cmd);
    }

    /**
     * This JVM's launch flags minus what each child sets for itself (heap, pre-touch, agents). A {@code -D} in
     * {@code jvmFlags} overrides an inherited one: it comes later on the command line, and the last one wins.
     */
    public static List<String> inheritedFlags() {
        List<String> flags = new ArrayList<>();
        for (String f : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!f.startsWith("-Xm") && !f.startsWith("-Xss") && !f.startsWith("-agentlib") && !f.startsWith("-javaagent")
                    && !f.equals("-XX:+AlwaysPreTouch") && !f.startsWith("-XX:InitialHeapSize")
                    && !f.startsWith("-XX:MaxHeapSize") && !f.startsWith("-Dsurefire") && !f.startsWith("-Dbasedir")) {
                flags.add(f);
            }
        }
        return flags;
    }

    /** A port free on loopback now, for a child to bind ({@link FreePorts#loopback}). */
    public static int freePort() throws IOException {
        return FreePorts.loopback();
    }

    public String name() {
        return name;
    }

    public Path log() {
        return log;
    }

    /** The full command line (prefix, java, flags, main class, arguments). */
    public List<String> command() {
        return command;
    }

    /** Starts (or restarts) the process; a header line with the arguments marks each start in the log. */
    public synchronized void start() throws IOException {
        Files.createDirectories(log.toAbsolutePath().getParent());
        Files.writeString(log, "---- start " + (++starts) + ": " + String.join(" ", args) + "\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // One parent's children form a cluster of their own (the soak's, a benchmark's), never joined with a
        // deployment on the same host; a name already set (a test run's) is kept.
        pb.environment().putIfAbsent(ClusterName.ENV, "tandem-children-" + ProcessHandle.current().pid());
        process = pb.start();
    }

    public synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    /** The pid of the last start, or -1 before the first. */
    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /** The exit code of a process that has ended; -1 while it runs or before it started. */
    public synchronized int exitCode() {
        return process == null || process.isAlive() ? -1 : process.exitValue();
    }

    /** SIGKILL and wait (bounded) for the process to be gone. */
    public synchronized void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** SIGTERM and wait (bounded) for a graceful exit; SIGKILL past {@code graceSeconds}. */
    public void terminate(long graceSeconds) throws InterruptedException {
        requestStop();
        awaitExit(graceSeconds);
    }

    /** SIGTERM: the child runs its shutdown hooks (a worker closes Vert.x and frees what it owns). */
    public synchronized void requestStop() {
        if (process != null) {
            process.destroy();
        }
    }

    /** Waits up to {@code graceSeconds} for the process to end; SIGKILL past it, then waits (bounded) again. */
    public void awaitExit(long graceSeconds) throws InterruptedException {
        Process p;
        synchronized (this) {
            p = process;
        }
        if (p != null && !p.waitFor(graceSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Sends {@code kill -SIG pid} (e.g. STOP, CONT); nothing when the process is not running. */
    public synchronized void signal(String sig) throws IOException, InterruptedException {
        if (process == null || !process.isAlive()) {
            return;
        }
        Process k = new ProcessBuilder("kill", "-" + sig, String.valueOf(process.pid())).inheritIO().start();
        if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
            throw new IOException("kill -" + sig + " " + process.pid() + " failed");
        }
    }

    /** The last {@code lines} lines of the log (what a failed start printed), or a note when it cannot be read. */
    public String logTail(int lines) {
        try {
            List<String> all = Arrays.asList(new String(Files.readAllBytes(log), StandardCharsets.UTF_8).split("\n"));
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(log " + log + " unreadable: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
