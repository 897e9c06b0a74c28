package dev.tandem.chaos;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.launch.ChildJvm;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The processes of one soak: a gateway over two prefill and two decode workers (clustered on loopback, the KV over
 * the chosen transport), and a colocated worker outside the chaos that computes the reference outputs. Workers keep
 * their ports across restarts, as a supervisor (systemd, Kubernetes) would restart them.
 */
final class ChaosCluster implements AutoCloseable {
    final ManagedProcess gateway;
    final ManagedProcess reference;
    final List<ManagedProcess> prefills = new ArrayList<>();
    final List<ManagedProcess> decodes = new ArrayList<>();
    private final List<ManagedProcess> all = new ArrayList<>();

    ChaosCluster(ChaosOptions o) throws IOException {
        List<String> prefillUrls = new ArrayList<>();
        List<String> bootstrapPorts = new ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            int port = freePort();
            int bootstrap = freePort();
            prefills.add(new ManagedProcess("prefill-" + i, port, o.logs(), worker(o, "prefill", port, List.of(
                    "--bootstrap-port", String.valueOf(bootstrap), "--bootstrap-timeout", "30"))));
            prefillUrls.add("http://127.0.0.1:" + port);
            bootstrapPorts.add(String.valueOf(bootstrap));
        }
        List<String> decodeUrls = new ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            int port = freePort();
            decodes.add(new ManagedProcess("decode-" + i, port, o.logs(), worker(o, "decode", port, List.of(
                    "--heartbeat-interval", "1", "--heartbeat-max-failures", "2", "--waiting-timeout", "30"))));
            decodeUrls.add("http://127.0.0.1:" + port);
        }
        int refPort = freePort();
        reference = new ManagedProcess("reference", refPort, o.logs(), List.of("worker", "--mode", "null",
                "--model", o.model().toString(), "--host", "127.0.0.1", "--port", String.valueOf(refPort)));
        int gwPort = freePort();
        List<String> g = new ArrayList<>(List.of("gateway", "--host", "127.0.0.1", "--port", String.valueOf(gwPort),
                "--policy", "round_robin", "--health-interval", "0.5", "--health-failures", "2", "--timeout", "90",
                "--cb-timeout-duration-secs", "5", "--prefill"));
        g.addAll(prefillUrls);
        g.add("--prefill-bootstrap-ports");
        g.addAll(bootstrapPorts);
        g.add("--decode");
        g.addAll(decodeUrls);
        gateway = new ManagedProcess("gateway", gwPort, o.logs(), g);
        all.addAll(prefills);
        all.addAll(decodes);
        all.add(reference);
        all.add(gateway);
    }

    private static List<String> worker(ChaosOptions o, String mode, int port, List<String> extra) {
        List<String> a = new ArrayList<>(List.of("worker", "--mode", mode, "--model", o.model().toString(),
                "--host", "127.0.0.1", "--port", String.valueOf(port), "--cluster", "--transfer-transport",
                o.transport()));
        a.addAll(extra);
        return a;
    }

    /** The workers faults may hit (not the gateway, the only way in, nor the reference). */
    List<ManagedProcess> victims() {
        List<ManagedProcess> v = new ArrayList<>(prefills);
        v.addAll(decodes);
        return v;
    }

    List<ManagedProcess> workers() {
        List<ManagedProcess> w = victims();
        w.add(reference);
        return w;
    }

    void startAll() throws IOException {
        for (ManagedProcess p : all) {
            p.start();
        }
    }

    /** Waits (bounded) until every process answers {@code /health} with 200. */
    void awaitHealthy(Http http, double seconds) throws Exception {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (ManagedProcess p : all) {
            while (http.status(p.url() + "/health") != 200) {
                if (System.nanoTime() > end) {
                    throw new IllegalStateException(p.name + " did not become healthy in " + seconds + " s (log: "
                            + p.name + ".log" + (p.alive() ? "" : "; it exited") + ")");
                }
                Thread.sleep(200);
            }
        }
    }

    /** A worker's {@code internal_states[0]}, or null when it does not answer. */
    static JsonNode state(Http http, ManagedProcess w) {
        JsonNode info = http.getJson(w.url() + "/get_server_info");
        return info == null ? null : info.path("internal_states").path(0);
    }

    private static int freePort() throws IOException {
        return ChildJvm.freePort();
    }

    @Override
    public void close() {
        for (ManagedProcess p : all) {
            try {
                p.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
