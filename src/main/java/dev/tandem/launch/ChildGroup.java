package dev.tandem.launch;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The child JVMs one orchestrating command has running: each started through {@link #start}, all stopped by pid on
 * {@link #close()} (SIGTERM, SIGKILL past the grace period), which a shutdown hook also calls, so Ctrl-C or an error
 * in the parent leaves no child behind. A start that fails (the child exits, or is not healthy in time) names the
 * child and shows the tail of its log.
 */
public final class ChildGroup implements AutoCloseable {
    private static final int TAIL_LINES = 30;
    private static final long GRACE_SECONDS = 15;
    private final List<ChildJvm> children = new ArrayList<>();
    private final List<Long> pids = new ArrayList<>();
    private final Thread hook = new Thread(this::stopAll, "tandem-child-stopper");
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private boolean closed;

    public ChildGroup() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Starts {@code jvm}; it is stopped with the group. */
    public synchronized ChildJvm start(ChildJvm jvm) throws IOException {
        if (closed) {
            throw new IllegalStateException("the group is closed; " + jvm.name() + " not started");
        }
        children.add(jvm);
        jvm.start();
        pids.add(jvm.pid());
        return jvm;
    }

    /** Every pid this group started, in start order (for callers that check none is left alive). */
    public synchronized List<Long> pids() {
        return List.copyOf(pids);
    }

    /**
     * Waits until {@code url} answers 200 or {@code seconds} pass; throws naming {@code jvm}, its pid, its exit code
     * when it died, and the tail of its log.
     */
    public void awaitHealthy(ChildJvm jvm, String url, double seconds) throws InterruptedException {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (status(url) != 200) {
            if (!jvm.alive()) {
                throw failure(jvm, "exited with code " + jvm.exitCode() + " before " + url + " answered");
            }
            if (System.nanoTime() > end) {
                throw failure(jvm, "was not healthy at " + url + " within " + seconds + " s");
            }
            Thread.sleep(200);
        }
    }

    /** An error naming {@code jvm} (pid, log path) with the last lines of its log. */
    public static IllegalStateException failure(ChildJvm jvm, String what) {
        return new IllegalStateException(jvm.name() + " (pid " + jvm.pid() + ") " + what + "; last lines of "
                + jvm.log() + ":\n" + jvm.logTail(TAIL_LINES).indent(4).stripTrailing());
    }

    private int status(String url) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException notYet) {
            return -1;
        }
    }

    /** Stops every child (in reverse start order, so a gateway goes before its workers) and waits for each. */
    private void stopAll() {
        List<ChildJvm> toStop;
        synchronized (this) {
            closed = true;
            toStop = new ArrayList<>(children);
            children.clear();
        }
        for (int i = toStop.size() - 1; i >= 0; i--) {
            toStop.get(i).requestStop(); // all at once: they shut down in parallel
        }
        boolean interrupted = false;
        for (int i = toStop.size() - 1; i >= 0; i--) {
            try {
                toStop.get(i).awaitExit(interrupted ? 0 : GRACE_SECONDS);
            } catch (InterruptedException e) {
                interrupted = true; // no more grace: SIGKILL the rest, then keep the interrupt
                i++;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run: the children are stopped either way
        }
    }
}
