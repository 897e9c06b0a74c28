package dev.tandem.engine.model;

import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.weights.WeightStore;
import dev.tandem.config.KvDtype;
import dev.tandem.kvcache.KvMemory;
import dev.tandem.kvcache.KvPool;
import dev.tandem.kvcache.PagedKvCache;

import java.nio.file.Path;
import java.util.function.Consumer;

/** A loaded model directory: its config, its mmapped weights (owned; closed with the model) and the decoder. */
public final class Model implements AutoCloseable {
    private final Path dir;
    private final ModelConfig config;
    private final WeightStore weights;
    private final Transformer transformer;

    private Model(Path dir, ModelConfig config, WeightStore weights, Transformer transformer) {
        this.dir = dir;
        this.config = config;
        this.weights = weights;
        this.transformer = transformer;
    }

    /** Loads {@code dir}; {@code progress} hears which file is being read and how long it took. */
    public static Model load(Path dir, ComputeBackend backend, Consumer<String> progress) {
        long t0 = System.nanoTime();
        ModelConfig config = ModelConfig.load(dir);
        progress.accept(String.format("config.json: %s, %d layers, hidden %d, heads %d/%d kv, vocab %d",
                config.architecture(), config.numLayers(), config.hiddenSize(), config.numHeads(),
                config.numKvHeads(), config.vocabSize()));
        WeightStore weights = WeightStore.open(dir, progress);
        try {
            Transformer tf = new Transformer(config, weights, backend);
            progress.accept(String.format("model ready: %.1f MB of weights in %d ms", weights.bytes() / 1e6,
                    (System.nanoTime() - t0) / 1_000_000));
            return new Model(dir, config, weights, tf);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** A paged KV cache sized for this model: {@code maxTotalTokens} slots in pages of {@code pageSize}. */
    public PagedKvCache newKvCache(int pageSize, int maxTotalTokens, int maxRequests, int maxContext) {
        return newKvCache(pageSize, maxTotalTokens, maxRequests, maxContext, null);
    }

    /** As above, with the pool in {@code shmFile} (under /dev/shm) so a peer on this host can map it; may be null. */
    public PagedKvCache newKvCache(int pageSize, int maxTotalTokens, int maxRequests, int maxContext, Path shmFile) {
        return newKvCache(pageSize, maxTotalTokens, maxRequests, maxContext, shmFile, KvDtype.FLOAT32);
    }

    /** As above, storing K and V as {@code dtype} ({@code --kv-cache-dtype}). */
    public PagedKvCache newKvCache(int pageSize, int maxTotalTokens, int maxRequests, int maxContext, Path shmFile,
                                   KvDtype dtype) {
        return newKvCache(shmFile == null ? KvMemory.NATIVE : KvMemory.shmFile(shmFile), pageSize, maxTotalTokens,
                maxRequests, maxContext, dtype);
    }

    /** As above, with the pool in a block of {@code memory} (the transfer backend's, when it provides one). */
    public PagedKvCache newKvCache(KvMemory memory, int pageSize, int maxTotalTokens, int maxRequests,
                                   int maxContext, KvDtype dtype) {
        int pages = (maxTotalTokens + pageSize - 1) / pageSize;
        KvPool pool = new KvPool(memory, config.numLayers(), pages, pageSize, config.numKvHeads(), config.headDim(),
                dtype);
        return new PagedKvCache(pool, maxRequests, Math.min(maxContext, config.maxPositions()));
    }

    public Path dir() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    public Transformer transformer() {
        return transformer;
    }

    public WeightStore weights() {
        return weights;
    }

    @Override
    public void close() {
        weights.close();
    }
}
