package dev.tandem.engine;

import dev.tandem.engine.compute.VectorBackend;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.engine.sampling.Sampler;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.kvcache.KvDtype;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.management.ManagementFactory;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A steady-state decode step allocates nothing on the threads that compute it: the scheduler-side caller (forward
 * pass, then in-place argmax or temperature/top_p/top_k sampling) and every thread of the compute pool, with float32
 * or bf16 KV. Per-token garbage is what made the shipped engine
 * stall (a young generation that keeps growing, first-touched pages), so this is accounted byte for byte.
 */
class HotPathAllocationTest {
    private static final int PROMPT = 24;
    private static final int CYCLE = 32; // decode positions PROMPT .. PROMPT + CYCLE, rewritten round after round

    @ParameterizedTest(name = "KV cache {0}, temperature {1}, top_p {2}, top_k {3}")
    @CsvSource({"FLOAT32, 0, 1, -1", "BFLOAT16, 0, 1, -1", "FLOAT32, 0.8, 0.9, 40", "BFLOAT16, 1.0, 0.95, -1",
            "FLOAT32, 0.7, 1, -1"})
    void batchOneDecodeStepAllocatesNothingOnComputeThreads(KvDtype dtype, float temperature, float topP, int topK) {
        // A sampled step reads the logits row in place and orders candidates in per-thread scratch.
        Sampler sampler = temperature == 0 ? null : new Sampler(new SamplingParams(1 << 20, temperature, topP, topK,
                0f, 0f, 0f, 1f, 42L, List.of(), true, 0), List.of());
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(mx.isThreadAllocatedMemorySupported(), "this JVM cannot account allocation per thread");
        mx.setThreadAllocatedMemoryEnabled(true);
        try (EngineFixture f = new EngineFixture("vector"); PagedKvCache kv = f.cache(16, 256, dtype)) {
            List<Thread> helpers = ((VectorBackend) f.backend).helperThreads();
            assertEquals(1, helpers.size(), "a two-thread backend has one helper besides the caller");
            long[] ids = helpers.stream().mapToLong(Thread::threadId).toArray();
            int row = kv.allocateRow();
            assertTrue(kv.ensureCapacity(row, PROMPT + CYCLE));
            int vocab = f.model.config().vocabSize();
            ForwardOutput prefill = f.model.transformer().forward(
                    List.of(SequenceChunk.lastLogits(row, 0, EngineFixture.tokens(PROMPT, 11))), kv);
            int first = Logprobs.argmax(prefill.logits(), prefill.offset(0, 0), vocab);
            // The step inputs are built up front: what is measured is the engine's work, not the test's.
            int[] fed = new int[CYCLE];
            fed[0] = first;
            for (int i = 1; i < CYCLE; i++) {
                fed[i] = (first + 37 * i) % vocab;
            }
            @SuppressWarnings("unchecked")
            List<SequenceChunk>[] steps = new List[CYCLE];
            for (int i = 0; i < CYCLE; i++) {
                steps[i] = List.of(SequenceChunk.lastLogits(row, PROMPT + i, fed[i]));
            }
            int checksum = 0;
            for (int warm = 0; warm < 4000; warm++) { // until the kernels run C2-compiled (no boxed vectors)
                checksum += step(f, kv, steps[warm % CYCLE], vocab, sampler);
            }
            // On a loaded machine the compiler threads may still be busy (a kernel recompiled after a late
            // deoptimization runs interpreted meanwhile and boxes vectors): keep cycling, for at most 30 s, until one
            // whole cycle allocates nothing on any compute thread. The assertions below are on the cycle after that,
            // so code that allocates in steady state still fails them.
            long warmDeadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < warmDeadline) {
                long[] helpersWarm = mx.getThreadAllocatedBytes(ids); // read first: reading it allocates an array
                long callerWarm = mx.getCurrentThreadAllocatedBytes();
                for (int s = 0; s < CYCLE; s++) {
                    checksum += step(f, kv, steps[s], vocab, sampler);
                }
                long callerCycle = mx.getCurrentThreadAllocatedBytes() - callerWarm;
                if (callerCycle == 0 && java.util.Arrays.equals(helpersWarm, mx.getThreadAllocatedBytes(ids))) {
                    break;
                }
            }
            long[] helpersBefore = mx.getThreadAllocatedBytes(ids);
            long callerBefore = mx.getCurrentThreadAllocatedBytes();
            for (int s = 0; s < CYCLE; s++) {
                checksum += step(f, kv, steps[s], vocab, sampler);
            }
            long caller = mx.getCurrentThreadAllocatedBytes() - callerBefore;
            long[] helpersAfter = mx.getThreadAllocatedBytes(ids);
            kv.release(row);
            assertEquals(0, caller, "bytes allocated by the calling thread over " + CYCLE + " decode steps, KV "
                    + dtype);
            for (int i = 0; i < ids.length; i++) {
                assertEquals(0, helpersAfter[i] - helpersBefore[i],
                        "bytes allocated by " + helpers.get(i).getName() + " over " + CYCLE + " decode steps");
            }
            assertTrue(checksum >= 0);
            assertEquals(kv.allocator().totalPages(), kv.allocator().freePages());
        }
    }

    /** One batch-1 decode step; the token is picked in place from the reused logits (greedy when no sampler). */
    private static int step(EngineFixture f, PagedKvCache kv, List<SequenceChunk> chunk, int vocab, Sampler sampler) {
        ForwardOutput out = f.model.transformer().forward(chunk, kv);
        return sampler == null ? Logprobs.argmax(out.logits(), out.offset(0, 0), vocab)
                : sampler.next(out.logits(), out.lastOffset(0), vocab);
    }
}
