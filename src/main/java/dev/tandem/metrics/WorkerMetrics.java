package dev.tandem.metrics;

import dev.tandem.scheduler.FinishReason;
import dev.tandem.scheduler.SchedulerObserver;
import dev.tandem.scheduler.SchedulerStats;
import dev.tandem.transfer.TransferObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A worker's own meters, fed by its scheduler (on the scheduler thread; Micrometer meters are thread-safe). */
public final class WorkerMetrics implements SchedulerObserver, TransferObserver {
    private final MeterRegistry registry;
    private final String worker;
    private volatile SchedulerStats last = SchedulerStats.empty(0, 0);
    private final Counter generated;
    private final Counter prompt;
    private final Counter retractions;
    private final Timer ttft;
    private final Timer interToken;
    private final Timer e2e;
    private final Counter bytesSent;
    private final Counter bytesReceived;
    private final Timer sendLatency;
    private final Timer receiveLatency;

    /** @param worker tag value that tells this worker's meters from others' in the same process */
    public WorkerMetrics(MeterRegistry registry, String worker) {
        this.registry = registry;
        this.worker = worker;
        Gauge.builder(Meters.RUNNING, () -> last.running()).description("requests decoding").tag("worker", worker).register(registry);
        Gauge.builder(Meters.WAITING, () -> last.waiting()).description("requests queued").tag("worker", worker).register(registry);
        Gauge.builder(Meters.KV_PAGES_USED, () -> last.usedPages()).description("KV pages in use").tag("worker", worker).register(registry);
        Gauge.builder(Meters.KV_PAGES_FREE, () -> last.totalPages() - last.usedPages()).description("free KV pages")
                .tag("worker", worker).register(registry);
        Gauge.builder(Meters.KV_USAGE, () -> last.totalPages() == 0 ? 0 : last.usedPages() / (double) last.totalPages())
                .description("fraction of KV pages in use").tag("worker", worker).register(registry);
        generated = Counter.builder(Meters.GENERATION_TOKENS).description("tokens generated").tag("worker", worker).register(registry);
        prompt = Counter.builder(Meters.PROMPT_TOKENS).description("prompt tokens of finished requests")
                .tag("worker", worker).register(registry);
        retractions = Counter.builder(Meters.RETRACTIONS).description("requests retracted for lack of KV pages")
                .tag("worker", worker).register(registry);
        ttft = latency(Meters.TTFT, "time to first token");
        interToken = latency(Meters.INTER_TOKEN, "time between output tokens");
        e2e = latency(Meters.E2E, "request latency, arrival to finish");
        Gauge.builder(Meters.CACHED_PAGES, () -> last.cachedPages()).description("KV pages the prefix cache holds")
                .tag("worker", worker).register(registry);
        FunctionCounter.builder(Meters.CACHE_HIT_TOKENS, this, m -> m.last.cacheHitTokens())
                .description("prompt tokens served from the prefix cache").tag("worker", worker).register(registry);
        pdMeters();
        bytesSent = Counter.builder(Meters.KV_BYTES_SENT).baseUnit("bytes").description("KV bytes pushed to decode workers")
                .tag("worker", worker).register(registry);
        bytesReceived = Counter.builder(Meters.KV_BYTES_RECEIVED).baseUnit("bytes")
                .description("KV bytes received from prefill workers").tag("worker", worker).register(registry);
        sendLatency = latency(Meters.KV_SEND_LATENCY, "one batched KV write to a decode worker");
        receiveLatency = latency(Meters.KV_RECEIVE_LATENCY, "pages handed over to transfer SUCCESS, per room");
    }

    private void pdMeters() {
        Gauge.builder(Meters.PREFILL_PREALLOC_QUEUE, () -> isMode("prefill") ? last.pd().preallocQueue() : 0)
                .description("prefill bootstrap queue").tag("worker", worker).register(registry);
        Gauge.builder(Meters.PREFILL_INFLIGHT_QUEUE, () -> isMode("prefill") ? last.pd().transferQueue() : 0)
                .description("prefill inflight queue").tag("worker", worker).register(registry);
        Gauge.builder(Meters.DECODE_PREALLOC_QUEUE, () -> isMode("decode") ? last.pd().preallocQueue() : 0)
                .description("decode prealloc queue").tag("worker", worker).register(registry);
        Gauge.builder(Meters.DECODE_TRANSFER_QUEUE, () -> isMode("decode") ? last.pd().transferQueue() : 0)
                .description("decode transfer queue").tag("worker", worker).register(registry);
        FunctionCounter.builder(Meters.BOOTSTRAP_FAILED, this, m -> m.last.pd().bootstrapFailed())
                .description("requests whose bootstrap handshake failed").tag("worker", worker).register(registry);
        FunctionCounter.builder(Meters.TRANSFER_FAILED, this, m -> m.last.pd().transferFailed())
                .description("requests whose KV transfer failed").tag("worker", worker).register(registry);
    }

    private volatile String mode = "null";

    /** Which PD gauges apply: "prefill", "decode" or "null". */
    public WorkerMetrics mode(String m) {
        this.mode = m;
        return this;
    }

    private boolean isMode(String m) {
        return mode.equals(m);
    }

    @Override
    public void onKvSent(long bytes, long nanos) {
        bytesSent.increment(bytes);
        sendLatency.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void onKvReceived(long bytes, long nanos) {
        bytesReceived.increment(bytes);
        receiveLatency.record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer latency(String name, String description) {
        return Timer.builder(name).description(description).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(600))
                .tag("worker", worker).register(registry);
    }

    @Override
    public void onStep(SchedulerStats stats) {
        last = stats;
    }

    @Override
    public void onFirstToken(long ttftNanos) {
        ttft.record(ttftNanos, TimeUnit.NANOSECONDS);
        generated.increment();
    }

    @Override
    public void onInterToken(long nanos) {
        interToken.record(nanos, TimeUnit.NANOSECONDS);
        generated.increment();
    }

    @Override
    public void onFinish(long e2eNanos, int promptTokens, int completionTokens, FinishReason reason) {
        e2e.record(e2eNanos, TimeUnit.NANOSECONDS);
        prompt.increment(promptTokens);
        Counter.builder(Meters.REQUESTS_FINISHED).tag("reason", reason.type()).tag("worker", worker).register(registry).increment();
    }

    @Override
    public void onRetract(int count) {
        retractions.increment(count);
    }
}
