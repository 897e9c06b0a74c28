package dev.tandem.engine;

import dev.tandem.TestModels;
import dev.tandem.config.ComputeBackendKind;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.kvcache.PagedKvCache;

import java.nio.file.Path;
import java.util.List;

/** A model on a chosen backend plus helpers to compare logits. Close it to free weights, pool and threads. */
final class EngineFixture implements AutoCloseable {
    final ComputeBackend backend;
    final Model model;

    EngineFixture(ComputeBackendKind backend) {
        this(backend, TestModels.tiny());
    }

    EngineFixture(ComputeBackendKind backend, Path dir) {
        this(backend, dir, dev.tandem.config.Quantization.NONE);
    }

    EngineFixture(ComputeBackendKind backend, Path dir, dev.tandem.config.Quantization quantization) {
        this(backend, dir, quantization, 2);
    }

    EngineFixture(ComputeBackendKind backend, Path dir, dev.tandem.config.Quantization quantization, int threads) {
        this.backend = ComputeBackends.create(backend, threads, quantization);
        this.model = Model.load(dir, this.backend, m -> { });
    }

    PagedKvCache cache(int pageSize, int tokens) {
        return model.newKvCache(pageSize, tokens, 8, 512);
    }

    PagedKvCache cache(int pageSize, int tokens, dev.tandem.config.KvDtype dtype) {
        return model.newKvCache(pageSize, tokens, 8, 512, null, dtype);
    }

    /** Logits rows for {@code tokens} prefilled in one go from position 0, rows from {@code logitsFrom}. */
    float[][] prefill(PagedKvCache kv, int[] tokens, int logitsFrom) {
        int row = kv.allocateRow();
        try {
            kv.ensureCapacity(row, tokens.length);
            ForwardOutput out = model.transformer().forward(List.of(new SequenceChunk(row, 0, tokens, logitsFrom)), kv);
            float[][] rows = new float[tokens.length - logitsFrom][];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = out.row(0, i);
            }
            return rows;
        } finally {
            kv.release(row);
        }
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    static int[] tokens(int n, int seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(500);
        }
        return t;
    }

    @Override
    public void close() {
        model.close();
        backend.close();
    }
}
