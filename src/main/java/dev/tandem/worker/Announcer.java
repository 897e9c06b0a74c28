package dev.tandem.worker;

import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import dev.tandem.config.WorkerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells gateways this worker exists: once ready it {@code POST}s SGLang's registration body to
 * {@code --gateway-url}/register (a failure only warns, as in SGLang), and it publishes the same facts on
 * {@code tandem.workers} at start and every {@value #PERIOD_MS} ms, so a gateway that joins the cluster later
 * still hears of it. Announcements are sealed with the cluster secret; the registration carries the worker's admin
 * key (else its API key) as a bearer token.
 */
final class Announcer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Announcer.class);
    static final long PERIOD_MS = 10_000;
    private static final long REGISTER_TIMEOUT_MS = 10_000;

    private final Vertx vertx;
    private final BusSigner signer;
    private final JsonObject announcement;
    private long timer = -1;
    private WebClient client;

    Announcer(Vertx vertx, WorkerConfig cfg, int port, BusSigner signer) {
        this.vertx = vertx;
        this.signer = signer;
        // SGLang's PDRegistryRequest: bootstrap_port only for prefill workers.
        this.announcement = new JsonObject().put("mode", cfg.mode())
                .put("registry_url", "http://" + cfg.advertisedHost() + ":" + port)
                .put("bootstrap_port", cfg.mode().equals("prefill") ? cfg.pd().bootstrapPort() : null);
    }

    void start(WorkerConfig cfg, String workerId) {
        JsonObject onBus = announcement.copy().put("worker_id", workerId);
        // Sealed afresh each time: gateways refuse a replayed envelope.
        vertx.eventBus().publish(BusAddresses.WORKERS, signer.seal(BusAddresses.WORKERS, onBus));
        timer = vertx.setPeriodic(PERIOD_MS, t -> vertx.eventBus().publish(BusAddresses.WORKERS,
                signer.seal(BusAddresses.WORKERS, onBus)));
        String gateway = cfg.pd().gatewayUrl();
        if (gateway != null && !cfg.mode().equals("null")) {
            client = WebClient.create(vertx);
            var post = client.postAbs(gateway.replaceAll("/+$", "") + "/register").timeout(REGISTER_TIMEOUT_MS);
            // The gateway's /register takes its admin key; operators give the worker the same one.
            String key = cfg.security().adminApiKey() != null ? cfg.security().adminApiKey() : cfg.security().apiKey();
            if (key != null) {
                post.bearerTokenAuthentication(key);
            }
            post.sendJsonObject(announcement)
                    .onSuccess(r -> {
                        if (r.statusCode() == 200) {
                            LOG.info("registered with the gateway at {}", gateway);
                        } else {
                            LOG.warn("gateway {} refused the registration: {} {}", gateway, r.statusCode(),
                                    r.bodyAsString());
                        }
                    })
                    .onFailure(e -> LOG.warn("cannot register with the gateway at {}: {}", gateway, e.getMessage()));
        }
    }

    JsonObject announcement() {
        return announcement;
    }

    @Override
    public void close() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        if (client != null) {
            client.close();
        }
    }
}
