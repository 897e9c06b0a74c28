package dev.tandem.metrics;

/**
 * Every meter name Tandem defines, in one place. Prometheus names follow from them (dots become underscores;
 * counters gain {@code _total}, timers {@code _seconds}).
 */
public final class Meters {
    private Meters() {
    }

    public static final String RUNNING = "tandem.num.running.reqs";
    public static final String WAITING = "tandem.num.waiting.reqs";
    public static final String KV_PAGES_USED = "tandem.kv.pages.used";
    public static final String KV_PAGES_FREE = "tandem.kv.pages.free";
    public static final String KV_USAGE = "tandem.token.usage";
    public static final String GENERATION_TOKENS = "tandem.generation.tokens";
    public static final String PROMPT_TOKENS = "tandem.prompt.tokens";
    public static final String REQUESTS_FINISHED = "tandem.requests.finished";
    public static final String RETRACTIONS = "tandem.retracted.reqs";
    public static final String CACHED_PAGES = "tandem.prefix.cache.pages";
    public static final String CACHE_HIT_TOKENS = "tandem.prefix.cache.hit.tokens";
    public static final String TTFT = "tandem.time.to.first.token";
    public static final String INTER_TOKEN = "tandem.inter.token.latency";
    public static final String E2E = "tandem.e2e.request.latency";

    // Prefill/decode (SGLang's names, §10.1, plus transfer volume and latency, which SGLang lacks)
    public static final String PREFILL_PREALLOC_QUEUE = "tandem.num.prefill.prealloc.queue.reqs";
    public static final String PREFILL_INFLIGHT_QUEUE = "tandem.num.prefill.inflight.queue.reqs";
    public static final String DECODE_PREALLOC_QUEUE = "tandem.num.decode.prealloc.queue.reqs";
    public static final String DECODE_TRANSFER_QUEUE = "tandem.num.decode.transfer.queue.reqs";
    public static final String BOOTSTRAP_FAILED = "tandem.num.bootstrap.failed.reqs";
    public static final String TRANSFER_FAILED = "tandem.num.transfer.failed.reqs";
    public static final String KV_BYTES_SENT = "tandem.kv.transfer.bytes.sent";
    public static final String KV_BYTES_RECEIVED = "tandem.kv.transfer.bytes.received";
    public static final String KV_SEND_LATENCY = "tandem.kv.transfer.send.latency";
    public static final String KV_RECEIVE_LATENCY = "tandem.kv.transfer.receive.latency";

    // Trust boundaries: refusals of unauthenticated cluster traffic and HTTP callers
    public static final String BUS_REJECTED = "tandem.bus.rejected";
    public static final String TCP_PEERS_REJECTED = "tandem.transfer.tcp.peers.rejected";
    public static final String HTTP_UNAUTHORIZED = "tandem.http.unauthorized";

    // Gateway (after sgl-router's PD metrics)
    public static final String GATEWAY_REQUESTS = "tandem.gateway.pd.requests";
    public static final String GATEWAY_DISPATCHED = "tandem.gateway.pd.dispatched";
    public static final String GATEWAY_DURATION = "tandem.gateway.pd.request.duration";

    // Hierarchical cache (HiCache): per tier, tag "tier" = l1 (the KV pool), l2 (host memory), l3 (storage)
    public static final String HICACHE_HIT_PAGES = "tandem.hicache.hit.pages";
    public static final String HICACHE_MISS_PAGES = "tandem.hicache.miss.pages";
    public static final String HICACHE_HOST_WRITTEN_PAGES = "tandem.hicache.host.written.pages";
    public static final String HICACHE_STORAGE_BYTES_READ = "tandem.hicache.storage.bytes.read";
    public static final String HICACHE_STORAGE_BYTES_WRITTEN = "tandem.hicache.storage.bytes.written";
    public static final String HICACHE_STORAGE_WRITES_DROPPED = "tandem.hicache.storage.writes.dropped";
    public static final String HICACHE_PREFETCH_WAIT = "tandem.hicache.prefetch.wait";
    public static final String HICACHE_PAGES = "tandem.hicache.pages";
    public static final String HICACHE_STORAGE_BYTES = "tandem.hicache.storage.bytes";
}
