package dev.tandem.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.config.WorkerConfig;
import dev.tandem.worker.WorkerMainVerticle;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.List;

/**
 * {@code worker --mode null --model DIR --port P [--host H] [--conf conf/worker.json] [engine and scheduler flags]}:
 * starts a worker in this JVM and runs until interrupted.
 */
public final class WorkerCommand {
    private WorkerCommand() {
    }

    public static int run(String[] argv) throws InterruptedException {
        Args a = Args.parse(argv, Set.of("cluster", "disable-radix-cache", "enable-hierarchical-cache",
                "disaggregation-decode-enable-offload-kvcache", "hicache-storage-no-fsync", "skip-server-warmup"));
        Map<String, Object> json = a.has("conf") ? readConf(Path.of(a.string("conf", null))) : Map.of();
        WorkerConfig cfg = WorkerConfig.from(json, a);
        a.rejectUnknown();

        Vertx vertx = VertxFactory.create(cfg.pd().cluster(), cfg.host(), cfg.advertisedHost(),
                cfg.security().busTls());
        return Serve.until(vertx, "worker", List.of(() -> new WorkerMainVerticle(cfg)), () -> { });
    }

    static Map<String, Object> readConf(Path p) {
        try {
            return new ObjectMapper().readValue(p.toFile(), new TypeReference<Map<String, Object>>() { });
        } catch (IOException e) {
            throw new ConfigException("conf", p, "a readable JSON object (" + e.getMessage() + ")");
        }
    }
}
