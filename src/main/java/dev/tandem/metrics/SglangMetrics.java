package dev.tandem.metrics;

import dev.tandem.scheduler.FinishReason;
import dev.tandem.scheduler.SchedulerObserver;
import dev.tandem.scheduler.SchedulerStats;
import dev.tandem.transfer.TransferObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * SGLang's Prometheus names ({@code srt/metrics/collector.py}, reference §10.1) beside a worker's own meters, which
 * it wraps: everything it hears goes on to {@code inner} too. Labelled {@code model_name} as SGLang's are (dashboards
 * select on it), plus {@code worker} to tell workers of one JVM apart.
 */
public final class SglangMetrics implements SchedulerObserver, TransferObserver {
    private final WorkerMetrics inner;
    private volatile SchedulerStats last = SchedulerStats.empty(0, 0);
    private final Counter prompt;
    private final Counter generation;
    private final Counter requests;
    private final Timer ttft;
    private final Timer interToken;
    private final Timer e2e;

    public SglangMetrics(MeterRegistry r, String worker, String modelName, String mode, WorkerMetrics inner) {
        this.inner = inner;
        Tags tags = Tags.of("model_name", modelName, "worker", worker);
        Gauge.builder("sglang:num_running_reqs", () -> last.running()).tags(tags).register(r);
        Gauge.builder("sglang:num_queue_reqs", () -> last.waiting()).tags(tags).register(r);
        Gauge.builder("sglang:num_used_tokens", () -> (double) last.usedPages() * last.pageSize()).tags(tags)
                .register(r);
        Gauge.builder("sglang:token_usage", () -> last.totalPages() == 0 ? 0
                : last.usedPages() / (double) last.totalPages()).tags(tags).register(r);
        Gauge.builder("sglang:total_retracted_reqs", () -> last.retractions()).tags(tags).register(r);
        boolean prefill = mode.equals("prefill");
        boolean decode = mode.equals("decode");
        Gauge.builder("sglang:num_prefill_prealloc_queue_reqs", () -> prefill ? last.pd().preallocQueue() : 0)
                .tags(tags).register(r);
        Gauge.builder("sglang:num_prefill_inflight_queue_reqs", () -> prefill ? last.pd().transferQueue() : 0)
                .tags(tags).register(r);
        Gauge.builder("sglang:num_decode_prealloc_queue_reqs", () -> decode ? last.pd().preallocQueue() : 0)
                .tags(tags).register(r);
        Gauge.builder("sglang:num_decode_transfer_queue_reqs", () -> decode ? last.pd().transferQueue() : 0)
                .tags(tags).register(r);
        FunctionCounter.builder("sglang:num_bootstrap_failed_reqs", this, m -> m.last.pd().bootstrapFailed())
                .tags(tags).register(r);
        FunctionCounter.builder("sglang:num_transfer_failed_reqs", this, m -> m.last.pd().transferFailed())
                .tags(tags).register(r);
        FunctionCounter.builder("sglang:cached_tokens", this, m -> m.last.cacheHitTokens()).tags(tags).register(r);
        prompt = Counter.builder("sglang:prompt_tokens").tags(tags).register(r);
        generation = Counter.builder("sglang:generation_tokens").tags(tags).register(r);
        requests = Counter.builder("sglang:num_requests").tags(tags).register(r);
        ttft = histogram(r, "sglang:time_to_first_token", tags);
        interToken = histogram(r, "sglang:inter_token_latency", tags);
        e2e = histogram(r, "sglang:e2e_request_latency", tags);
    }

    private static Timer histogram(MeterRegistry r, String name, Tags tags) {
        return Timer.builder(name).publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(600)).tags(tags).register(r);
    }

    @Override
    public void onStep(SchedulerStats stats) {
        last = stats;
        inner.onStep(stats);
    }

    @Override
    public void onFirstToken(long nanos) {
        ttft.record(nanos, TimeUnit.NANOSECONDS);
        generation.increment();
        inner.onFirstToken(nanos);
    }

    @Override
    public void onInterToken(long nanos) {
        interToken.record(nanos, TimeUnit.NANOSECONDS);
        generation.increment();
        inner.onInterToken(nanos);
    }

    @Override
    public void onFinish(long e2eNanos, int promptTokens, int completionTokens, FinishReason reason) {
        e2e.record(e2eNanos, TimeUnit.NANOSECONDS);
        prompt.increment(promptTokens);
        requests.increment();
        inner.onFinish(e2eNanos, promptTokens, completionTokens, reason);
    }

    @Override
    public void onRetract(int count) {
        inner.onRetract(count);
    }

    @Override
    public void onKvSent(long bytes, long nanos) {
        inner.onKvSent(bytes, nanos);
    }

    @Override
    public void onKvReceived(long bytes, long nanos) {
        inner.onKvReceived(bytes, nanos);
    }
}
