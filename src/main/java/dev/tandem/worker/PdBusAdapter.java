package dev.tandem.worker;

import dev.tandem.bus.PdCodec;
import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import dev.tandem.transfer.KvReceiverManager;
import dev.tandem.transfer.KvSenderManager;
import dev.tandem.transfer.Messages;
import dev.tandem.transfer.WriteLeases;
import io.vertx.core.Future;
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
 * answering ({@code heartbeat_max_failures} missed pings, one every {@code heartbeat_interval}). Every message and
 * reply is sealed with the cluster secret ({@link BusSigner}); unsealed, stale or replayed ones are refused.
 */
final class PdBusAdapter implements KvReceiverManager.BootstrapClient, KvSenderManager.StatusNotifier,
        WriteLeases.Client,
        AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PdBusAdapter.class);
    private static final long REQUEST_TIMEOUT_MS = 5_000;

    private final Vertx vertx;
    private final BusSigner signer;
    private MessageConsumer<JsonObject> consumer;
    private long heartbeatTimer = -1;
    /** Prefill side: our bootstrap address, named in lease requests (decode workers fence per address). */
    private volatile String bootstrapHostPort;
    private final Map<String, Integer> missed = new ConcurrentHashMap<>();

    /** {@code signer}: every message is sealed with the cluster secret, and only sealed ones are believed. */
    PdBusAdapter(Vertx vertx, BusSigner signer) {
        this.vertx = vertx;
        this.signer = signer;
    }

    /** Prefill side: answer registrations, transfer infos, aborts and pings, from members holding the secret. */
    void serveBootstrap(String hostPort, KvSenderManager senders) {
        this.bootstrapHostPort = hostPort;
        String address = BusAddresses.bootstrap(hostPort);
        consumer = vertx.eventBus().consumer(address, msg -> {
            JsonObject j;
            try {
                j = signer.open(address, msg.body());
            } catch (BusSigner.Rejected e) {
                LOG.warn("bootstrap {}: {}", address, e.getMessage());
                msg.fail(401, e.reason());
                return;
            }
            try {
                JsonObject reply = new JsonObject().put("ok", true).put("incarnation", senders.incarnation());
                switch (String.valueOf(j.getValue("type"))) {
                    case "register" -> senders.onRegistration(PdCodec.register(j));
                    case "info" -> senders.onTransferInfo(PdCodec.info(j));
                    case "abort" -> reply.put("quiet", senders.onAbortRoom(PdCodec.abort(j)));
                    case "ping" -> reply.put("statuses",
                            PdCodec.statuses(senders.reportedOutcomes(PdCodec.pingRooms(j))));
                    default -> throw new IllegalArgumentException("unknown bootstrap message type " + j.getValue("type"));
                }
                msg.reply(signer.sealReply(msg.body(), reply));
            } catch (RuntimeException e) {
                msg.fail(400, String.valueOf(e.getMessage()));
            }
        });
        awaitRegistered(address);
        LOG.info("bootstrap service on event-bus address {}", address);
    }

    /**
     * Blocks (a worker thread of the start-up) until the consumer is known cluster-wide, so that a worker reports
     * itself healthy only once its peers can reach it: a restarted prefill worker whose bootstrap address is not yet
     * registered would fail the handshakes of the decode workers the gateway already sends its way.
     */
    private void awaitRegistered(String address) {
        try {
            consumer.completion().toCompletionStage().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while registering " + address);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot register event-bus address " + address + ": " + e, e);
        }
    }

    /** Decode side: hear transfer outcomes, and watch the prefill workers with rooms in flight. */
    void serveTransferStatus(String workerId, KvReceiverManager receivers, long heartbeatMs, int maxFailures) {
        String address = BusAddresses.transfer(workerId);
        consumer = vertx.eventBus().consumer(address, msg -> {
            try {
                JsonObject j = signer.open(address, msg.body());
                if ("lease".equals(j.getValue("type"))) {
                    receivers.onLeaseRequest(PdCodec.leaseRequester(j));
                    msg.reply(signer.sealReply(msg.body(), new JsonObject().put("ok", true)));
                } else {
                    receivers.onStatus(PdCodec.status(j));
                }
            } catch (BusSigner.Rejected e) {
                LOG.warn("transfer status {}: {}", address, e.getMessage());
            } catch (RuntimeException e) {
                LOG.warn("transfer status {}: malformed message ({})", address, e.getMessage());
            }
        });
        awaitRegistered(address);
        heartbeatTimer = vertx.setPeriodic(heartbeatMs, t -> {
            for (String addr : receivers.activeAddresses()) {
                call(addr, PdCodec.ping(receivers.roomsInFlight(addr)), Math.max(heartbeatMs, 1000)).onComplete(ar -> {
                            if (ar.succeeded()) {
                                missed.remove(addr);
                                receivers.onPeerIncarnation(addr, ar.result().getString("incarnation"));
                                try { // outcomes whose frame C never arrived
                                    PdCodec.statuses(ar.result()).forEach(receivers::onStatus);
                                } catch (RuntimeException e) {
                                    LOG.warn("heartbeat reply from {}: malformed statuses ({})", addr, e.getMessage());
                                }
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
    public CompletionStage<String> register(String address, Messages.KvArgsRegistration registration) {
        return request(address, PdCodec.register(registration));
    }

    @Override
    public CompletionStage<String> sendTransferInfo(String address, Messages.TransferInfo info) {
        return request(address, PdCodec.info(info));
    }

    @Override
    public CompletionStage<Boolean> abortRoom(String address, Messages.AbortRoom abort) {
        return call(address, PdCodec.abort(abort), REQUEST_TIMEOUT_MS)
                .map(reply -> Boolean.TRUE.equals(reply.getValue("quiet"))).toCompletionStage();
    }

    /** Completes with the prefill worker's incarnation. */
    private CompletionStage<String> request(String address, JsonObject body) {
        return call(address, body, REQUEST_TIMEOUT_MS).map(reply -> {
            Object inc = reply.getValue("incarnation");
            if (!(inc instanceof String s) || s.isEmpty() || s.length() > 64) {
                throw new IllegalStateException("bootstrap reply without an incarnation");
            }
            return s;
        }).toCompletionStage();
    }

    /** A sealed request to a prefill worker's bootstrap service; the reply is believed only if sealed to it. */
    private Future<JsonObject> call(String hostPort, JsonObject body, long timeoutMs) {
        JsonObject envelope = signer.seal(BusAddresses.bootstrap(hostPort), body);
        return vertx.eventBus().<JsonObject>request(BusAddresses.bootstrap(hostPort), envelope,
                new DeliveryOptions().setSendTimeout(timeoutMs)).map(m -> signer.openReply(envelope, m.body()));
    }

    /** Prefill side: a write lease from a decode worker (see {@link WriteLeases.Client}). */
    @Override
    public CompletionStage<Void> lease(String decodeWorkerId) {
        String address = BusAddresses.transfer(decodeWorkerId);
        JsonObject envelope = signer.seal(address, PdCodec.leaseRequest(bootstrapHostPort));
        return vertx.eventBus().<JsonObject>request(address, envelope, new DeliveryOptions().setSendTimeout(
                REQUEST_TIMEOUT_MS)).map(m -> {
                    signer.openReply(envelope, m.body());
                    return (Void) null;
                }).toCompletionStage();
    }

    @Override
    public void notify(String decodeWorkerId, Messages.TransferStatus status) {
        String address = BusAddresses.transfer(decodeWorkerId);
        vertx.eventBus().send(address, signer.seal(address, PdCodec.status(status)));
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
