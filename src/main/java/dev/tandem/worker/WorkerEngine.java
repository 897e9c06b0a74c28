package dev.tandem.worker;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.config.WorkerConfig;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.Model;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.scheduler.ColocatedScheduler;
import dev.tandem.scheduler.SchedulerLoop;
import dev.tandem.scheduler.SchedulerObserver;
import dev.tandem.tokenizer.TextTokenizer;

import java.util.function.Consumer;

/**
 * What a worker runs on: compute backend, model, tokenizer, KV cache and the scheduler loop, created together and
 * closed together (loop first, so nothing touches the pool after it is freed).
 */
public final class WorkerEngine implements AutoCloseable {
    private final WorkerConfig config;
    private final ComputeBackend backend;
    private final Model model;
    private final TextTokenizer tokenizer;
    private final PagedKvCache kv;
    private final SchedulerConfig schedulerConfig;
    private final SchedulerLoop loop;

    private WorkerEngine(WorkerConfig config, ComputeBackend backend, Model model, TextTokenizer tokenizer,
                         PagedKvCache kv, SchedulerConfig schedulerConfig, SchedulerLoop loop) {
        this.config = config;
        this.backend = backend;
        this.model = model;
        this.tokenizer = tokenizer;
        this.kv = kv;
        this.schedulerConfig = schedulerConfig;
        this.loop = loop;
    }

    /** Loads the model (reporting progress) and starts the scheduler thread. Blocking. */
    public static WorkerEngine start(WorkerConfig cfg, SchedulerObserver observer, Consumer<String> progress) {
        ComputeBackend backend = ComputeBackends.create(cfg.engine().backend(), cfg.engine().threads());
        progress.accept("compute backend: " + ComputeBackends.describe(backend));
        Model model = null;
        TextTokenizer tok = null;
        PagedKvCache kv = null;
        try {
            model = Model.load(cfg.modelPath(), backend, progress);
            tok = TextTokenizer.load(cfg.modelPath());
            int context = cfg.contextLength() > 0 ? Math.min(cfg.contextLength(), model.config().maxPositions())
                    : model.config().maxPositions();
            SchedulerConfig sc = new SchedulerConfig(cfg.maxRunningRequests(), cfg.maxTotalTokens(),
                    cfg.chunkedPrefillSize(), context, cfg.engine().pageSize());
            kv = model.newKvCache(sc.pageSize(), sc.maxTotalTokens(), sc.maxRunningRequests(), context);
            progress.accept(String.format("KV cache: %d pages of %d tokens (%.1f MB), context %d, %d running max",
                    kv.allocator().totalPages(), sc.pageSize(), kv.pool().totalBytes() / 1e6, context,
                    sc.maxRunningRequests()));
            var scheduler = new ColocatedScheduler(model.transformer(), kv, tok, model.config().eosTokenIds(), sc,
                    observer);
            SchedulerLoop loop = new SchedulerLoop("tandem-scheduler", scheduler).start();
            return new WorkerEngine(cfg, backend, model, tok, kv, sc, loop);
        } catch (RuntimeException e) {
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

    @Override
    public void close() {
        loop.close();
        kv.close();
        tokenizer.close();
        model.close();
        backend.close();
    }
}
