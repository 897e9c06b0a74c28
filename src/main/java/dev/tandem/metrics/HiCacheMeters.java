package dev.tandem.metrics;

import dev.tandem.hicache.HiCache;
import dev.tandem.hicache.HiCacheStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * A worker's hierarchical-cache meters, read from {@link HiCache#stats()} when scraped: page hits per tier
 * ({@code l1} the pool, {@code l2} host memory, {@code l3} storage), pages found nowhere, storage bytes read and
 * written, the prefetch wait of admitted requests, and what host memory and storage hold.
 */
public final class HiCacheMeters {
    private HiCacheMeters() {
    }

    /** Registers the meters of {@code hi} under {@code worker}'s tag; remove them when the worker stops. */
    public static List<Meter> register(MeterRegistry registry, String worker, HiCache hi) {
        registerAll(registry, worker, hi);
        List<Meter> meters = new ArrayList<>();
        for (Meter m : registry.getMeters()) {
            if (worker.equals(m.getId().getTag("worker")) && m.getId().getName().startsWith("tandem.hicache.")) {
                meters.add(m);
            }
        }
        return meters;
    }

    /** Removes what {@link #register} added. */
    public static void remove(MeterRegistry registry, List<Meter> meters) {
        meters.forEach(registry::remove);
    }

    private static void registerAll(MeterRegistry registry, String worker, HiCache hi) {
        counter(registry, worker, Meters.HICACHE_HIT_PAGES, "l1", "prompt pages found in the KV pool", hi,
                HiCacheStats::l1HitPages);
        counter(registry, worker, Meters.HICACHE_HIT_PAGES, "l2", "prompt pages copied back from host memory", hi,
                HiCacheStats::l2HitPages);
        counter(registry, worker, Meters.HICACHE_HIT_PAGES, "l3", "pages read from storage into host memory", hi,
                HiCacheStats::l3HitPages);
        FunctionCounter.builder(Meters.HICACHE_MISS_PAGES, hi, h -> h.stats().missPages())
                .description("prompt pages no tier held (computed)").tag("worker", worker).register(registry);
        FunctionCounter.builder(Meters.HICACHE_HOST_WRITTEN_PAGES, hi, h -> h.stats().l2WrittenPages())
                .description("pages copied from the KV pool to host memory").tag("worker", worker).register(registry);
        FunctionCounter.builder(Meters.HICACHE_STORAGE_BYTES_READ, hi, h -> h.stats().l3BytesRead()).baseUnit("bytes")
                .description("bytes read from storage").tag("worker", worker).register(registry);
        FunctionCounter.builder(Meters.HICACHE_STORAGE_BYTES_WRITTEN, hi, h -> h.stats().l3BytesWritten())
                .baseUnit("bytes").description("bytes written to storage").tag("worker", worker).register(registry);
        FunctionCounter.builder(Meters.HICACHE_STORAGE_WRITES_DROPPED, hi, h -> h.stats().l3WritesDropped())
                .description("page writes to storage given up (queue full, page gone, I/O error)")
                .tag("worker", worker).register(registry);
        FunctionTimer.builder(Meters.HICACHE_PREFETCH_WAIT, hi, h -> h.stats().prefetches(),
                        h -> h.stats().prefetchWaitNanos(), TimeUnit.NANOSECONDS)
                .description("from a request's storage prefetch start to its admission")
                .tag("worker", worker).register(registry);
        Gauge.builder(Meters.HICACHE_PAGES, hi, h -> h.stats().hostPages()).description("pages a tier holds")
                .tag("worker", worker).tag("tier", "l2").register(registry);
        Gauge.builder(Meters.HICACHE_PAGES, hi, h -> h.stats().storagePages()).description("pages a tier holds")
                .tag("worker", worker).tag("tier", "l3").register(registry);
        Gauge.builder(Meters.HICACHE_STORAGE_BYTES, hi, h -> h.stats().storageBytes()).baseUnit("bytes")
                .description("bytes of the storage pages this worker knows of").tag("worker", worker)
                .register(registry);
    }

    private static void counter(MeterRegistry registry, String worker, String name, String tier, String description,
                                HiCache hi, ToDoubleFunction<HiCacheStats> f) {
        FunctionCounter.builder(name, hi, h -> f.applyAsDouble(h.stats())).description(description)
                .tag("worker", worker).tag("tier", tier).register(registry);
    }
}
