package dev.tandem.gateway;

import dev.tandem.bus.BusSigner;
import dev.tandem.config.GatewayConfig;
import dev.tandem.gateway.policy.CacheAwarePolicy;
import dev.tandem.gateway.policy.Policies;
import dev.tandem.gateway.policy.Policy;
import dev.tandem.gateway.policy.PrefixIndex;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * What the cache_aware policy needs besides itself, set up only when a pool uses it: the tokenizer, the prefix
 * index and the KV-events listener that feeds it (tracking the workers of the cache_aware pools).
 */
final class CacheAwareSetup {
    private static final long TICK_MS = 1000;

    private final PrefixIndex index;
    private final CacheAwarePolicy.Thresholds thresholds;
    private final PromptTokens prompts;
    private final KvEventsListener listener;

    private CacheAwareSetup(PrefixIndex index, CacheAwarePolicy.Thresholds thresholds, PromptTokens prompts,
                            KvEventsListener listener) {
        this.index = index;
        this.thresholds = thresholds;
        this.prompts = prompts;
        this.listener = listener;
    }

    static Future<CacheAwareSetup> start(Vertx vertx, GatewayConfig config, WorkerRegistry registry,
                                         WorkerHealth health) {
        CacheAwarePolicy.Thresholds t = new CacheAwarePolicy.Thresholds(config.cacheThreshold(),
                config.balanceAbsThreshold(), config.balanceRelThreshold());
        if (!config.cacheAware()) {
            return Future.succeededFuture(new CacheAwareSetup(null, t, null, null));
        }
        PrefixIndex index = new PrefixIndex(config.maxTreeSize());
        boolean prefill = config.prefillPolicy().equals("cache_aware");
        boolean decode = config.decodePolicy().equals("cache_aware");
        KvEventsListener listener = new KvEventsListener(vertx,
                new BusSigner(config.security().secret(), dev.tandem.metrics.MetricsSetup.registry()), index, () -> {
            Collection<String> urls = new ArrayList<>();
            List<WorkerEntry> pools = new ArrayList<>(prefill ? registry.prefill() : List.of());
            pools.addAll(decode ? registry.decode() : List.of());
            pools.forEach(w -> urls.add(w.url()));
            return urls;
        }, health::healthy, System::currentTimeMillis, KvEventsListener.RETRY_MS, KvEventsListener.DROP_AFTER_MS);
        // tokenizer.json takes a moment to load (native library, vocabulary): not on the event loop.
        return vertx.executeBlocking(() -> PromptTokens.load(config.tokenizerPath()))
                .compose(p -> listener.start(TICK_MS).map(v -> new CacheAwareSetup(index, t, p, listener)));
    }

    Policy policy(String name) {
        return Policies.create(name, index, thresholds);
    }

    /** The prefix index, or null when no pool is cache_aware. */
    PrefixIndex index() {
        return index;
    }

    /** The tokenizer for prompts, or null when no pool is cache_aware. */
    PromptTokens prompts() {
        return prompts;
    }

    void stop() {
        if (listener != null) {
            listener.stop();
        }
        if (prompts != null) {
            prompts.close();
        }
    }
}
