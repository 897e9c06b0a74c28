package dev.tandem.testbed;

import dev.tandem.TestModels;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Drives {@code scripts/testbed.sh}: N hosts, each a network namespace with its own address, hostname and
 * {@code /dev/shm}, on one bridge; Tandem processes launched into them as separate JVMs with a Hazelcast config that
 * names the hosts' addresses. Where namespaces cannot be made (not root, no iproute2, a sandbox that forbids them)
 * the test is skipped with the script's reason. {@link #close()} kills every process it started and removes the bed.
 */
public final class TestBed implements AutoCloseable {
    private static final Path SCRIPT = Path.of("scripts", "testbed.sh");
    private static final Path DIR = Path.of("target", "testbed");

    private final int hosts;
    private final List<Process> processes = new ArrayList<>();

    private TestBed(int hosts) {
        this.hosts = hosts;
    }

    /** Creates {@code hosts} hosts, or skips the calling test with the reason they cannot be made. */
    public static TestBed up(int hosts) throws Exception {
        Files.createDirectories(DIR);
        Process p = new ProcessBuilder("bash", SCRIPT.toString(), "up", String.valueOf(hosts)).redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        int rc = p.waitFor();
        Assumptions.assumeTrue(rc != 3, "network namespaces unavailable: " + out.strip());
        if (rc != 0) {
            throw new IllegalStateException("testbed.sh up failed (" + rc + "): " + out);
        }
        return new TestBed(hosts);
    }

    /** Host {@code i}'s address (hosts count from 1). */
    public static String addr(int i) {
        return "10.213.0." + (10 + i);
    }

    /** A Hazelcast config for host {@code i}: the shipped one, bound to its address, listing every host. */
    Path clusterXml(int i) throws IOException {
        String xml = Files.readString(Path.of("conf", "cluster.xml"));
        StringBuilder members = new StringBuilder();
        for (int h = 1; h <= hosts; h++) {
            members.append("<member>").append(addr(h)).append("</member>");
        }
        xml = xml.replace("<member>127.0.0.1</member>", members.toString())
                .replace("<interface>127.0.0.1</interface>", "<interface>" + addr(i) + "</interface>");
        Path out = DIR.resolve("cluster-h" + i + ".xml");
        Files.writeString(out, xml);
        return out;
    }

    /** Starts {@code dev.tandem.Main args…} on host {@code i}; its output goes to target/testbed/NAME.log. */
    public Process launch(int i, String name, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("bash", SCRIPT.toString(), "run", "h" + i,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx768m", "-XX:+UseSerialGC",
                "-Dvertx.hazelcast.config=" + clusterXml(i), "-cp", System.getProperty("java.class.path"),
                "dev.tandem.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(DIR.resolve(name + ".log").toFile()).start();
        processes.add(p);
        return p;
    }

    /** Runs {@code scripts/testbed.sh args…} (cut-pair, heal-pair, …) and fails if it does. */
    public void script(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("testbed.sh " + String.join(" ", args) + " failed: " + out);
        }
    }

    /** Sends {@code SIGSTOP} or {@code SIGCONT} (or any signal) to a process {@link #launch} started. */
    public static void signal(Process p, String sig) throws Exception {
        Process k = new ProcessBuilder("kill", "-" + sig, String.valueOf(p.pid())).inheritIO().start();
        if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
            throw new IllegalStateException("kill -" + sig + " " + p.pid() + " failed");
        }
    }

    /** The tiny test model, generated in the test JVM (the namespaces share the file system). */
    public static String model() {
        return TestModels.tiny().toAbsolutePath().toString();
    }

    @Override
    public void close() throws Exception {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        new ProcessBuilder("bash", SCRIPT.toString(), "down").redirectErrorStream(true)
                .redirectOutput(DIR.resolve("down.log").toFile()).start().waitFor(30, TimeUnit.SECONDS);
    }
}
