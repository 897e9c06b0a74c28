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
 *
 * <p>Trust (SGLang's and sgl-router's flags where they exist): {@code --api-key K} (Bearer key on every route but
 * {@code --open-routes}, by default {@code /health /health_generate /metrics}), {@code --admin-api-key A}
 * ({@code /register}, {@code /flush_cache}; without it {@code /register} takes loopback callers only),
 * {@code --worker-api-key W} and {@code --worker-admin-api-key WA} (what the gateway presents to workers; default
 * its own keys), {@code --registry-ttl S} (registered workers unroutable this long are removed; 300),
 * {@code --max-body-bytes}, {@code --max-batch-items}, and {@code --cluster-secret-file F} (never the secret itself).
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
        if (cfg.security().apiKey() == null && !loopbackOnly(cfg.host())) {
            System.err.println("warning: the gateway listens on " + cfg.host() + " without --api-key: anyone who "
                    + "reaches that port can generate (set --api-key, and --admin-api-key to register from afar)");
        }
        Vertx vertx = VertxFactory.create(cfg.cluster(), cfg.host(), cfg.advertisedHost(), cfg.security().busTls());
        return Serve.until(vertx, "gateway", java.util.List.of(() -> new GatewayVerticle(cfg)), () -> { });
    }

    private static boolean loopbackOnly(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }
}
