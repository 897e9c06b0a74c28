package dev.tandem.worker;

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

    public static final String KV_EVENTS = "tandem.kv-events";
    public static final String WORKERS = "tandem.workers";
}
