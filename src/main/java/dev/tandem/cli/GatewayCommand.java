package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import dev.tandem.gateway.GatewayVerticle;
import io.vertx.core.Vertx;

import java.util.Set;

/**
 * {@code gateway --host H --port P --prefill URL [URL…] --prefill-bootstrap-ports B [B…] --decode URL [URL…]
 * --timeout S --policy NAME [--prefill-policy NAME] [--decode-policy NAME] [--cluster]}: SGLang's {@code launch_lb}
 * flags; for {@code cache_aware} also sgl-router's {@code --tokenizer-path DIR} (or {@code --model-path DIR}),
 * {@code --cache-threshold}, {@code --balance-abs-threshold}, {@code --balance-rel-threshold} and
 * {@code --max-tree-size}. Runs until interrupted.
 */
public final class GatewayCommand {
    private GatewayCommand() {
    }

    public static int run(String[] argv) throws InterruptedException {
        Args a = Args.parse(argv, Set.of("cluster"));
        var json = a.has("conf") ? WorkerCommand.readConf(java.nio.file.Path.of(a.string("conf", null)))
                : java.util.Map.<String, Object>of();
        GatewayConfig cfg = GatewayConfig.from(json, a);
        a.rejectUnknown();
        Vertx vertx = VertxFactory.create(cfg.cluster(), cfg.host());
        return Serve.until(vertx, "gateway", java.util.List.of(() -> new GatewayVerticle(cfg)), () -> { });
    }
}
