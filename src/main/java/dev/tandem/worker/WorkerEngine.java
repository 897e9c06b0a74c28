package dev.tandem.worker;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.config.WorkerConfig;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.Warmup;
import dev.tandem.grammar.GrammarCache;
import dev.tandem.grammar.Vocabulary;
import dev.tandem.tokenizer.TokenBytes;
import dev.tandem.hicache.HiCache;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.scheduler.ColocatedScheduler;
import dev.tandem.scheduler.Scheduler;
import dev.tandem.scheduler.SchedulerLoop;
import dev.tandem.scheduler.SchedulerObserver;
import dev.tandem.tokenizer.TextTokenizer;
import dev.tandem.kvevents.EventPublisher;
import dev.tandem.kvevents.EventPublishers;
import io.vertx.core.Vertx;

import java.util.Map;

import java.util.function.Consumer;

/**
 * What a worker runs on: compute backend, model, tokenizer, KV cache and the scheduler loop, created together and
 * closed together (loop first, so nothing touches the pool after it is freed).
 */
public final class WorkerEngine implements AutoCloseable {
    /** Distinct constraints kept compiled (with their token masks); the least recently used go first. */
    static final int GRAMMAR_CACHE_SIZE = 64;
    private final WorkerConfig config;
    private final ComputeBackend backend;
    private final Model model;
    private final TextTokenizer tokenizer;
    private final PagedKvCache kv;
    private final SchedulerConfig schedulerConfig;
    private final SchedulerLoop loop;
    private final PdWiring pd; // null for a colocated worker
    private final EventPublisher events;
    private final GrammarCache grammars;
    private HiCache hiCache; // colocated workers' tiers, or null (a prefill worker's belong to its PdWiring)

    private WorkerEngine(WorkerConfig config, ComputeBackend backend, Model model, TextTokenizer tokenizer,
                         PagedKvCache kv, SchedulerConfig schedulerConfig, SchedulerLoop loop, PdWiring pd,
                         EventPublisher events) {
        this.events = events;
        this.grammars = new GrammarCache(new Vocabulary(model.config().vocabSize(), TokenBytes.load(config.modelPath()),
                model.config().eosTokenIds()), GRAMMAR_CACHE_SIZE);
        this.config = config;
        this.backend = backend;
        this.model = model;
        this.tokenizer = tokenizer;
        this.kv = kv;
        this.schedulerConfig = schedulerConfig;
        this.loop = loop;
        this.pd = pd;
    }

    /** Loads the model (reporting progress) and starts the scheduler thread. Blocking. */
    public static WorkerEngine start(WorkerConfig cfg, Vertx vertx, SchedulerObserver observer,
                                     Consumer<String> progress) {
        ComputeBackend backend = ComputeBackends.create(cfg.engine().backend(), cfg.engine().threads(),
                cfg.engine().quantization());
        progress.accept("compute backend: " + ComputeBackends.describe(backend));
        Model model = null;
        TextTokenizer tok = null;
        PagedKvCache kv = null;
        PdWiring pd = null;
        EventPublisher events = null;
        HiCache hi = null;
        try {
            model = Model.load(cfg.modelPath(), backend, progress);
            tok = TextTokenizer.load(cfg.modelPath());
            int context = cfg.contextLength() > 0 ? Math.min(cfg.contextLength(), model.config().maxPositions())
                    : model.config().maxPositions();
            SchedulerConfig sc = new SchedulerConfig(cfg.maxRunningRequests(), cfg.maxTotalTokens(),
                    cfg.chunkedPrefillSize(), context, cfg.engine().pageSize(),
                    cfg.radixCache() && !cfg.mode().equals("decode"));
            Scheduler scheduler;
            if (cfg.mode().equals("null")) {
                kv = model.newKvCache(sc.pageSize(), sc.maxTotalTokens(), sc.maxRunningRequests(), context, null,
                        cfg.engine().kvCacheDtype());
                hi = HiCache.create(cfg.hiCache(), cfg.kvIdentity(), kv.pool(),
                        () -> ClusterPageMap.of(vertx, cfg.hiCache()));
                if (hi != null) {
                    progress.accept("hierarchical cache: " + hi.describe());
                }
                scheduler = new ColocatedScheduler(model.transformer(), kv, tok, model.config().eosTokenIds(), sc,
                        observer, hi);
            } else {
                pd = PdWiring.build(cfg, vertx, model, tok, sc, observer, progress);
                scheduler = pd.scheduler();
            }
            PagedKvCache pool = pd != null ? pd.kv() : kv;
            progress.accept(String.format("KV cache: %d pages of %d tokens (%.1f MB, %s), context %d, %d running max",
                    pool.allocator().totalPages(), sc.pageSize(), pool.pool().totalBytes() / 1e6,
                    pool.pool().dtype().label(), context, sc.maxRunningRequests()));
            if (cfg.serverWarmup()) {
                progress.accept("warm-up: " + Warmup.run(model.transformer(), pool, model.config().vocabSize())
                        + " (--skip-server-warmup skips it)");
            }
            events = EventPublishers.create(cfg.kvEvents(), 0,
                    Map.of("eventbus", (c, rank) -> new EventBusKvPublisher(vertx, c)));
            progress.accept("prefix cache: " + (sc.radixCache() ? "radix, KV events to '"
                    + cfg.kvEvents().publisher() + "'" : "off"));
            SchedulerLoop loop = new SchedulerLoop("tandem-scheduler-" + cfg.mode(), scheduler, events).start();
            WorkerEngine engine = new WorkerEngine(cfg, backend, model, tok, pool, sc, loop, pd, events);
            engine.hiCache = hi;
            return engine;
        } catch (RuntimeException e) {
            if (events != null) {
                events.close();
            }
            if (hi != null) {
                hi.close();
            }
            if (pd != null) {
                pd.close();
            }
            if (kv != null) {
                kv.close();
            }
            if (tok != null) {
                tok.close();
            }
            if (model != null) {
                model.close();
            }
            backend.close();
            throw e;
        }
    }

    /** Compiled structured-output constraints over this model's vocabulary, shared by its requests. */
    public GrammarCache grammars() {
        return grammars;
    }

    public WorkerConfig config() {
        return config;
    }

    public Model model() {
        return model;
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    public SchedulerLoop loop() {
        return loop;
    }

    public SchedulerConfig schedulerConfig() {
        return schedulerConfig;
    }

    public PagedKvCache kv() {
        return kv;
    }

    /** The tiers behind the prefix cache (colocated or prefill worker), or null. */
    public HiCache hiCache() {
        return pd != null ? pd.hiCache() : hiCache;
    }

    /** Where the prefix cache's events go; an {@code eventbus} publisher is bound once the HTTP port is known. */
    public EventPublisher events() {
        return events;
    }

    @Override
    public void close() {
        loop.close();
        events.close(); // after the loop: its last events are queued by then
        if (hiCache != null) {
            hiCache.close(); // lets queued storage writes finish; before the pool it copies from
        }
        if (pd != null) {
            pd.close(); // owns the KV cache in PD modes
        } else {
            kv.close();
        }
        tokenizer.close();
        model.close();
        backend.close();
    }
}
