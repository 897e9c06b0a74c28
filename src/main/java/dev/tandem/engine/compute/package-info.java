/**
 * Compute backends: the heavy kernels (matmul over stored-dtype weights, paged GQA attention) behind
 * {@link dev.tandem.engine.compute.ComputeBackend}, chosen once by {@link dev.tandem.engine.compute.ComputeBackends}.
 * {@code scalar} is the single-threaded reference every other backend is tested against; {@code vector} uses the
 * Vector API on every core through its compute pool ({@code ParallelFor}), with weights prepared at load into
 * panels ({@code Bf16Panels}, or {@code Int8Panels} under {@link dev.tandem.config.Quantization#INT8}), a unit's two
 * panels interleaved so a pass over it reads one sequential stream, computed in register tiles of two panels by
 * four, two or one tokens, every output in one fixed order whatever the tile; a batch of two or more tokens first
 * reads each unit of panels in with independent loads ({@code PanelTiles.touch}), so the tiles' first pass does not
 * wait on memory with few lines in flight, and a lone token's tile streams the unit in a loop C2 leaves as written
 * ({@code PanelTiles.one}: unrolled, its loads bunch up and it streams ~25% slower).
 * Attention ({@code GroupedAttention}) reads each K/V tile once for all query heads of a GQA group, from an F32
 * or bf16 pool ({@code Bf16KvAttention} widens bf16 in registers); {@code AttentionBlocks} finishes sixteen
 * positions' scores at once and accumulates values for three heads per V load, with the per-head kernel's bits. The
 * softmax runs over fixed chunks of 64 positions whose partials meet at the end ({@code AttentionChunks}), so
 * {@code AttentionJob} can share a lone decode token's context out between the threads by chunks (every split gives
 * the same bits); batches split by GQA group. A decode token's K/V (cold: written steps ago) are first touched line
 * by line so many loads are in flight at once (its whole rows when one worker attends all its groups, each thread's
 * run of rows for a lone token split by chunks, else its head's).
 * The softmax and SwiGLU use {@code VectorExp}, an
 * exp in lane-wise arithmetic that gives the same bits in every lane, in its scalar form and whatever the JIT state.
 * {@link dev.tandem.engine.compute.Maxima} is the vector maximum of a float range (the scalar loop's value), shared by
 * the softmax and by sampling.
 * {@link dev.tandem.engine.compute.Probes} measures the limits kernels are judged against (read bandwidth, FMA
 * peak) on the same threads. Nothing here allocates per call on the hot path: scratch is per worker, and the
 * arrays one thread allocates for all workers are padded ({@code WorkerScratch}) so no two workers write one cache
 * line.
 */
package dev.tandem.engine.compute;
