package dev.tandem.worker;

import dev.tandem.TestModels;
import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import dev.tandem.cli.VertxFactory;
import dev.tandem.config.ClusterSecret;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.tandem.worker.ClusteredPdTest.awaitHealthy;
import static dev.tandem.worker.ClusteredPdTest.body;
import static dev.tandem.worker.ClusteredPdTest.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A prefill and a decode worker in separate JVMs that share an operator-given cluster secret (a 0600 file named by
 * {@code $TANDEM_CLUSTER_SECRET_FILE}), with KV over authenticated TCP. A member of the same Hazelcast cluster that
 * lacks the secret (this test's JVM) sends forged bootstrap messages and a replay: all are refused and counted, and
 * the pair's disaggregated output still equals a colocated worker's token for token.
 */
@ExtendWith(VertxExtension.class)
class ClusteredTrustTest {
    private static final String API_KEY = "test-api-key-0123";
    private static final String ADMIN_KEY = "test-admin-key-4567";

    static Process launch(String name, Path secretFile, String... flags) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), "dev.tandem.Main", "worker",
                "--model", TestModels.tiny().toString(), "--host", "127.0.0.1", "--cluster",
                "--api-key", API_KEY, "--admin-api-key", ADMIN_KEY, "--transfer-transport", "tcp"));
        cmd.addAll(List.of(flags));
        Path logs = Path.of("target", "cluster-logs");
        Files.createDirectories(logs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(logs.resolve(name + ".log").toFile());
        pb.environment().put(ClusterSecret.ENV_SECRET_FILE, secretFile.toString());
        pb.environment().remove(ClusterSecret.ENV_SECRET);
        return pb.start();
    }

    /** The value of {@code tandem_bus_rejected_total{reason=...}} in a Prometheus scrape (0 when absent). */
    static double rejected(String scrape, String reason) {
        Matcher m = Pattern.compile("(?m)^tandem_bus_rejected_total\\{[^}]*reason=\"" + reason + "\"[^}]*} (\\S+)$")
                .matcher(scrape);
        double sum = 0;
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }

    @Test
    void aMemberWithoutTheSecretCannotSteerThePairWhoseOutputStillEqualsColocated(Vertx vertx) throws Exception {
        Path secretFile = Path.of("target", "trust-test", "cluster.secret");
        Files.createDirectories(secretFile.getParent());
        Files.deleteIfExists(secretFile);
        Files.createFile(secretFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        String secretText = java.util.HexFormat.of().formatHex(java.security.SecureRandom.getSeed(32));
        Files.writeString(secretFile, secretText + "\n");
        ClusterSecret secret = ClusterSecret.of(secretText.getBytes(), "test");

        int pPort = freePort();
        int dPort = freePort();
        int bootstrap = freePort();
        Process prefill = launch("trust-prefill", secretFile, "--mode", "prefill", "--port", "" + pPort,
                "--bootstrap-port", "" + bootstrap);
        Process decode = launch("trust-decode", secretFile, "--mode", "decode", "--port", "" + dPort);
        WebClient p = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(pPort));
        WebClient d = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(dPort));
        // The outsider: joins the same Hazelcast cluster (OSS Hazelcast cannot keep it out), knows another secret.
        Vertx outsider = VertxFactory.create(true, "127.0.0.1");
        try (WorkerFixture colocated = new WorkerFixture(vertx)) {
            awaitHealthy(p, prefill, "trust-prefill");
            awaitHealthy(d, decode, "trust-decode");
            String address = BusAddresses.bootstrap("127.0.0.1:" + bootstrap);
            awaitConsumer(outsider, address);

            // 1. Forged: an unsigned registration that would point the prefill worker's pushes at the outsider, a
            //    transfer info and an abort signed with another secret.
            JsonObject register = new JsonObject().put("type", "register").put("decode_worker_id", "127.0.0.1:" + dPort)
                    .put("kv", new JsonObject().put("name", "kv").put("host_id", "evil").put("tcp_host", "127.0.0.1")
                            .put("tcp_port", 9).put("bytes", 1L << 30));
            assertRefused(outsider, address, register, "unsigned");
            BusSigner stranger = new BusSigner(ClusterSecret.of("not-the-cluster-secret".getBytes(), "x"), null);
            assertRefused(outsider, address, stranger.seal(address, new JsonObject().put("type", "abort")
                    .put("room", 100L).put("reason", "forged")), "bad_signature");
            // 2. Replayed: a genuine ping (sealed with the real secret) is accepted once, refused the second time.
            BusSigner insider = new BusSigner(secret, null);
            JsonObject ping = insider.seal(address, new JsonObject().put("type", "ping"));
            var first = outsider.eventBus().<JsonObject>request(address, ping,
                    new DeliveryOptions().setSendTimeout(5000)).await();
            assertEquals(true, insider.openReply(ping, first.body()).getBoolean("ok"));
            assertRefused(outsider, address, ping, "replay");

            // 3. Strangers on the decode worker's TCP KV writer: no handshake and a 2 GiB length, a forged answer,
            //    then a thousand connections at once. Nothing is written (the outputs below prove the pool intact).
            int kvPort = tcpWriterPort(Path.of("target", "cluster-logs", "trust-decode.log"));
            try (var s1 = java.nio.channels.SocketChannel.open(new java.net.InetSocketAddress("127.0.0.1", kvPort))) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16).putInt(0x54444B56).putInt(Integer.MAX_VALUE)
                        .putLong(-1L).flip();
                s1.write(b);
                assertEquals(-1, readUntilClosed(s1), "dropped without an answer to the batch");
            }
            List<java.nio.channels.SocketChannel> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 1000; i++) {
                    try {
                        flood.add(java.nio.channels.SocketChannel.open(
                                new java.net.InetSocketAddress("127.0.0.1", kvPort)));
                    } catch (java.io.IOException refusedOrReset) {
                        // over the writer's connection cap: closed at once, as it should be
                    }
                }
            } finally {
                for (var c : flood) {
                    c.close();
                }
            }
            assertEquals(200, d.get("/health").send().await().statusCode());

            // 4. The pair still serves, its KV over authenticated TCP, equal to colocated token for token.
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                bodies.add(body(3 + i * 11, 6, bootstrap, 100 + i));
            }
            ClusteredPdTest.assertColocatedOutput(colocated, p, d, bodies,
                    r -> r.bearerTokenAuthentication(API_KEY));
            String metrics = p.get("/metrics").send().await().bodyAsString();
            assertEquals(1.0, rejected(metrics, "unsigned"), metrics);
            assertEquals(1.0, rejected(metrics, "bad_signature"));
            assertEquals(1.0, rejected(metrics, "replay"));
            String decodeMetrics = d.get("/metrics").send().await().bodyAsString();
            assertTrue(decodeMetrics.matches("(?s).*tandem_transfer_tcp_peers_rejected_total\\{[^}]*reason=\"auth_failed\""
                    + "[^}]*} [1-9].*"), "the stranger was counted: " + decodeMetrics.lines()
                    .filter(l -> l.startsWith("tandem_transfer_tcp")).toList());
        } finally {
            outsider.close().await();
            for (Process proc : List.of(prefill, decode)) {
                proc.destroy();
                if (!proc.waitFor(15, TimeUnit.SECONDS)) {
                    proc.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            p.close();
            d.close();
        }
    }

    /** The decode worker's KV writer port, from its start-up log line. */
    private static int tcpWriterPort(Path log) throws Exception {
        Matcher m = Pattern.compile("TCP writer on 127\\.0\\.0\\.1:(\\d+)").matcher(Files.readString(log));
        assertTrue(m.find(), "no TCP writer line in " + log);
        return Integer.parseInt(m.group(1));
    }

    /** Reads until the peer closes; -1 once closed (any bytes before, such as the challenge, are skipped). */
    private static int readUntilClosed(java.nio.channels.SocketChannel ch) throws Exception {
        ch.socket().setSoTimeout(10_000);
        var in = ch.socket().getInputStream();
        byte[] buf = new byte[256];
        int n;
        while ((n = in.read(buf)) >= 0) {
            // the server's challenge; anything else is ignored too
        }
        return n;
    }

    private static void assertRefused(Vertx from, String address, JsonObject msg, String reason) {
        Throwable t = null;
        try {
            from.eventBus().request(address, msg, new DeliveryOptions().setSendTimeout(5000)).await();
        } catch (Throwable e) {
            t = e;
        }
        ReplyException re = assertInstanceOf(ReplyException.class, t, "refused with a failure reply");
        assertEquals(401, re.failureCode());
        assertEquals(reason, re.getMessage());
    }

    /** Waits until the cluster's subscription map shows the prefill's bootstrap consumer to this member. */
    private static void awaitConsumer(Vertx v, String address) throws Exception {
        for (int i = 0; i < 100; i++) {
            try {
                v.eventBus().request(address, "probe", new DeliveryOptions().setSendTimeout(2000)).await();
                return;
            } catch (ReplyException e) {
                if (e.failureType() == io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE) {
                    return; // reached it, and was refused (counted as "malformed", which the test does not check)
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("bootstrap consumer " + address + " never became visible");
    }
}
