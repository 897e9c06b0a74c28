package dev.tandem.cli;

import dev.tandem.config.SecurityConfig;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Mutual event-bus TLS between clustered members: two members holding the PEM key, certificate and CA talk; a
 * member of the same Hazelcast cluster without them cannot deliver a message to either.
 */
class EventBusTlsTest {
    @TempDir
    Path dir;

    /** A self-signed certificate for 127.0.0.1 and its key, as PEM files (made with the JDK's keytool). */
    private SecurityConfig.BusTls selfSigned() throws Exception {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Assumptions.assumeTrue(Files.isExecutable(keytool), "no keytool in this JDK");
        Path ks = dir.resolve("member.p12");
        Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "m", "-keyalg", "RSA",
                "-keysize", "2048", "-dname", "CN=tandem-test", "-ext", "SAN=ip:127.0.0.1", "-validity", "2",
                "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes()));
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(ks)) {
            store.load(in, "changeit".toCharArray());
        }
        Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes());
        Path key = dir.resolve("member.key");
        Path cert = dir.resolve("member.crt");
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
                + b64.encodeToString(store.getKey("m", "changeit".toCharArray()).getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        Files.writeString(cert, "-----BEGIN CERTIFICATE-----\n"
                + b64.encodeToString(store.getCertificate("m").getEncoded()) + "\n-----END CERTIFICATE-----\n");
        return new SecurityConfig.BusTls(key.toString(), cert.toString(), cert.toString());
    }

    @Test
    void membersWithTheCertificatesTalkAndOneWithoutCannot() throws Exception {
        SecurityConfig.BusTls tls = selfSigned();
        Vertx a = VertxFactory.create(true, "127.0.0.1", tls);
        Vertx b = VertxFactory.create(true, "127.0.0.1", tls);
        Vertx plain = VertxFactory.create(true, "127.0.0.1", null);
        try {
            a.eventBus().<String>consumer("tandem.tls-test", m -> m.reply("pong " + m.body())).completion().await();
            String reply = null;
            for (int i = 0; i < 50 && reply == null; i++) { // the subscription reaches b through Hazelcast
                try {
                    reply = b.eventBus().<String>request("tandem.tls-test", "b",
                            new DeliveryOptions().setSendTimeout(2000)).await().body();
                } catch (Exception notYet) {
                    Thread.sleep(100);
                }
            }
            assertEquals("pong b", reply);
            // The same subscription is visible to the plain member, but its connection cannot complete.
            Exception e = assertThrows(Exception.class, () -> plain.eventBus().request("tandem.tls-test", "plain",
                    new DeliveryOptions().setSendTimeout(3000)).await());
            if (e instanceof io.vertx.core.eventbus.ReplyException re) {
                assertNotEquals(io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS, re.failureType(),
                        "the plain member saw the handler; only the TLS handshake may stop it");
            }
        } finally {
            for (Vertx v : List.of(plain, b, a)) {
                v.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
            }
        }
    }
}
