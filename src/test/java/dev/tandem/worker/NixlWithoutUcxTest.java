package dev.tandem.worker;

import dev.tandem.TestModels;
import io.vertx.core.Vertx;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where UCX cannot load (here: a broken {@code libucp.so.0} first on the library path, as on a host without
 * libucx0), a worker asked for nixl refuses to start and names what is missing, and a mooncake worker starts as usual.
 */
@ExtendWith(VertxExtension.class)
class NixlWithoutUcxTest {

    private static Process launch(Path brokenLibs, Path log, String... flags) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                "dev.tandem.Main", "worker", "--model", TestModels.tiny().toString(), "--host", "127.0.0.1"));
        cmd.addAll(List.of(flags));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("LD_LIBRARY_PATH", brokenLibs.toString());
        return pb.start();
    }

    @Test
    void aNixlWorkerRefusesToStartNamingUcxAndMooncakeStillStarts(@TempDir Path dir, Vertx vertx) throws Exception {
        Path libs = Files.createDirectories(dir.resolve("libs"));
        Files.write(libs.resolve("libucp.so.0"), new byte[0]); // what the dynamic linker finds: not a library
        Path nixlLog = dir.resolve("nixl.log");
        Process nixl = launch(libs, nixlLog, "--mode", "prefill", "--port", "0", "--bootstrap-port",
                String.valueOf(ClusteredPdTest.freePort()), "--transfer-backend", "nixl");
        try {
            assertTrue(nixl.waitFor(120, TimeUnit.SECONDS),
                    "the nixl worker neither started nor failed\n" + ClusteredPdTest.tail(nixlLog));
        } finally {
            nixl.destroyForcibly();
        }
        String out = Files.readString(nixlLog);
        assertNotEquals(0, nixl.exitValue(), out);
        assertTrue(out.contains("transfer_backend nixl: UCX cannot load") && out.contains("libucp.so.0")
                && out.contains("libucx0"), out);

        int port = ClusteredPdTest.freePort();
        Path mooncakeLog = dir.resolve("mooncake.log");
        Process mooncake = launch(libs, mooncakeLog, "--mode", "prefill", "--port", "" + port,
                "--bootstrap-port", String.valueOf(ClusteredPdTest.freePort()));
        WebClient c = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
        try {
            ClusteredPdTest.awaitHealthy(c, mooncake, "mooncake prefill without UCX", mooncakeLog);
        } finally {
            mooncake.destroy();
            if (!mooncake.waitFor(15, TimeUnit.SECONDS)) {
                mooncake.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            c.close();
        }
    }
}
