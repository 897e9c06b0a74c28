package dev.tandem.bus;

/** Every event-bus address Tandem uses, in one place (ARCHITECTURE "Cluster and event bus"). */
public final class BusAddresses {
    private BusAddresses() {
    }

    /** A prefill worker's bootstrap service: KV-args registration, transfer infos, aborts, heartbeat pings. */
    public static String bootstrap(String hostPort) {
        return "tandem.bootstrap." + hostPort;
    }

    /** Where a decode worker hears how its rooms' transfers ended. */
    public static String transfer(String workerId) {
        return "tandem.transfer." + workerId;
    }

    /** KV-cache event batches of every worker using the {@code eventbus} publisher (msgpack, headers below). */
    public static final String KV_EVENTS = "tandem.kv-events";

    /** Where a worker answers with its whole prefix cache as one batch (a router rebuilding its index). */
    public static String kvEventsSnapshot(String workerUrl) {
        return KV_EVENTS + ".snapshot." + workerUrl;
    }

    /** The address a snapshot reply is signed for: bound to the nonce of the (sealed) request it answers. */
    public static String kvEventsSnapshotReply(String requestNonce) {
        return KV_EVENTS + ".snapshot-reply." + requestNonce;
    }

    /** Worker announcements (sealed {mode, registry_url, bootstrap_port, worker_id}) that gateways listen to. */
    public static final String WORKERS = "tandem.workers";
}
