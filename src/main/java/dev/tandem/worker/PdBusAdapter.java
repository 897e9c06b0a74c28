package dev.tandem.worker;

import dev.tandem.bus.PdCodec;
import dev.tandem.bus.BusAddresses;
import dev.tandem.transfer.KvReceiverManager;
import dev.tandem.transfer.KvSenderManager;
import dev.tandem.transfer.Messages;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Carries the bootstrap handshake over the (clustered) event bus. On a prefill worker it serves
 * {@code tandem.bootstrap.<host>:<bootstrap_port>}; on a decode worker it serves {@code tandem.transfer.<id>},
 * implements the bootstrap client, and runs the heartbeat that fails the rooms of a prefill worker that stopped
 * answering ({@code heartbeat_max_failures} missed pings, one every {@code heartbeat_interval}).
 */
final class PdBusAdapter implements KvReceiverManager.BootstrapClient, KvSenderManager.StatusNotifier,
        AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PdBusAdapter.class);
    private static final long REQUEST_TIMEOUT_MS = 5_000;

    private final Vertx vertx;
    private MessageConsumer<JsonObject> consumer;
    private long heartbeatTimer = -1;
    private final Map<String, Integer> missed = new ConcurrentHashMap<>();

    PdBusAdapter(Vertx vertx) {
        this.vertx = vertx;
    }

    /** Prefill side: answer registrations, transfer infos, aborts and pings. */
    void serveBootstrap(String hostPort, KvSenderManager senders) {
        consumer = vertx.eventBus().consumer(BusAddresses.bootstrap(hostPort), msg -> {
            JsonObject j = msg.body();
            try {
                JsonObject reply = new JsonObject().put("ok", true);
                switch (j.getString("type")) {
                    case "register" -> senders.onRegistration(PdCodec.register(j));
                    case "info" -> senders.onTransferInfo(PdCodec.info(j));
                    case "abort" -> reply.put("quiet", senders.onAbortRoom(PdCodec.abort(j)));
                    case "ping" -> { }
                    default -> throw new IllegalArgumentException("unknown bootstrap message type " + j.getString("type"));
                }
                msg.reply(reply);
            } catch (RuntimeException e) {
                msg.fail(400, e.getMessage());
            }
        });
        LOG.info("bootstrap service on event-bus address {}", BusAddresses.bootstrap(hostPort));
    }

    /** Decode side: hear transfer outcomes, and watch the prefill workers with rooms in flight. */
    void serveTransferStatus(String workerId, KvReceiverManager receivers, long heartbeatMs, int maxFailures) {
        consumer = vertx.eventBus().consumer(BusAddresses.transfer(workerId),
                msg -> receivers.onStatus(PdCodec.status(msg.body())));
        heartbeatTimer = vertx.setPeriodic(heartbeatMs, t -> {
            for (String addr : receivers.activeAddresses()) {
                vertx.eventBus().request(BusAddresses.bootstrap(addr), new JsonObject().put("type", "ping"),
                        new DeliveryOptions().setSendTimeout(Math.max(heartbeatMs, 1000))).onComplete(ar -> {
                            if (ar.succeeded()) {
                                missed.remove(addr);
                            } else if (missed.merge(addr, 1, Integer::sum) >= maxFailures) {
                                missed.remove(addr);
                                LOG.warn("prefill worker {} missed {} heartbeats; failing its rooms", addr, maxFailures);
                                receivers.failAddress(addr, "Losing connection with prefill instance (bootstrap_addr: "
                                        + addr + ")");
                            }
                        });
            }
        });
    }

    @Override
    public CompletionStage<Void> register(String address, Messages.KvArgsRegistration registration) {
        return request(address, PdCodec.register(registration));
    }

    @Override
    public CompletionStage<Void> sendTransferInfo(String address, Messages.TransferInfo info) {
        return request(address, PdCodec.info(info));
    }

    @Override
    public CompletionStage<Boolean> abortRoom(String address, Messages.AbortRoom abort) {
        return vertx.eventBus().<JsonObject>request(BusAddresses.bootstrap(address), PdCodec.abort(abort),
                new DeliveryOptions().setSendTimeout(REQUEST_TIMEOUT_MS))
                .map(m -> m.body().getBoolean("quiet", false)).toCompletionStage();
    }

    private CompletionStage<Void> request(String address, JsonObject body) {
        return vertx.eventBus().request(BusAddresses.bootstrap(address), body,
                new DeliveryOptions().setSendTimeout(REQUEST_TIMEOUT_MS)).<Void>mapEmpty().toCompletionStage();
    }

    @Override
    public void notify(String decodeWorkerId, Messages.TransferStatus status) {
        vertx.eventBus().send(BusAddresses.transfer(decodeWorkerId), PdCodec.status(status));
    }

    @Override
    public void close() {
        if (heartbeatTimer >= 0) {
            vertx.cancelTimer(heartbeatTimer);
        }
        if (consumer != null) {
            consumer.unregister();
        }
    }
}
