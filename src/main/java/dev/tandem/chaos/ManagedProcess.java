package dev.tandem.chaos;

import dev.tandem.launch.ChildJvm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * One Tandem JVM the soak owns (a {@link ChildJvm} with a small heap of its own), restarted on the same ports,
 * signalled by pid. Its output is appended to {@code <logs>/<name>.log} across restarts.
 */
final class ManagedProcess implements AutoCloseable {
    final String name;
    final int port;
    private final ChildJvm jvm;
    private boolean stopped;

    ManagedProcess(String name, int port, Path logs, List<String> args) {
        this.name = name;
        this.port = port;
        this.jvm = new ChildJvm(name, logs, List.of(), List.of("-Xmx768m"), args);
    }

    synchronized void start() throws IOException {
        jvm.start();
        stopped = false;
    }

    synchronized boolean alive() {
        return jvm.alive();
    }

    synchronized boolean stopped() {
        return stopped;
    }

    synchronized void kill() throws InterruptedException {
        jvm.kill();
        stopped = false;
    }

    /** SIGSTOP: the process freezes with every socket open, as in a long GC pause or a hung host. */
    synchronized void freeze() throws IOException, InterruptedException {
        jvm.signal("STOP");
        stopped = true;
    }

    synchronized void thaw() throws IOException, InterruptedException {
        jvm.signal("CONT");
        stopped = false;
    }

    /** SIGTERM and wait (bounded) for a graceful exit; SIGKILL past it. */
    synchronized void terminate() throws InterruptedException {
        jvm.terminate(20);
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
