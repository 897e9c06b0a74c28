package dev.tandem.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.ApiException;
import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workers announcing themselves on {@code tandem.workers}: each announcement is an envelope sealed with the cluster
 * secret ({@code {mode, registry_url, bootstrap_port, worker_id}} inside), opened with {@link BusSigner#open} so an
 * unsigned, forged, stale or replayed one is refused and counted in {@code tandem_bus_rejected_total}; what it
 * holds then passes the same rules as a {@code /register} body ({@link RegisterRequest}). Colocated workers announce
 * themselves too but are no part of a PD pair.
 */
final class Announcements {
    private static final Logger LOG = LoggerFactory.getLogger(Announcements.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Vertx vertx;
    private final BusSigner signer;
    private final WorkerRegistry registry;
    private final WorkerHealth health;
    private MessageConsumer<Object> consumer;

    Announcements(Vertx vertx, BusSigner signer, WorkerRegistry registry, WorkerHealth health) {
        this.vertx = vertx;
        this.signer = signer;
        this.registry = registry;
        this.health = health;
    }

    void start() {
        consumer = vertx.eventBus().consumer(BusAddresses.WORKERS, m -> onMessage(m.body()));
    }

    void onMessage(Object envelope) {
        JsonObject a;
        try {
            a = signer.open(BusAddresses.WORKERS, envelope);
        } catch (BusSigner.Rejected e) {
            LOG.warn("ignoring a worker announcement: {}", e.getMessage());
            return;
        }
        if ("null".equals(a.getValue("mode"))) {
            return;
        }
        WorkerEntry w;
        try {
            w = RegisterRequest.parse(JSON.readTree(a.encode()));
        } catch (ApiException | java.io.IOException e) {
            LOG.warn("ignoring a signed worker announcement: {}", WorkerShapes.message(e.getMessage()));
            return;
        }
        registry.add(w, true).onSuccess(isNew -> {
            if (isNew) {
                LOG.info("worker announced itself: {} {}", w.mode(), w.url());
                health.check(w);
            }
        });
    }

    void stop() {
        if (consumer != null) {
            consumer.unregister();
        }
    }
}
