/**
 * Compute backends: the heavy kernels (matmul over stored-dtype weights, paged GQA attention) behind
 * {@link dev.tandem.engine.compute.ComputeBackend}, chosen once by {@link dev.tandem.engine.compute.ComputeBackends}.
 * {@code scalar} is the single-threaded reference every other backend is tested against; {@code vector} uses the
 * Vector API on every core.
 */
package dev.tandem.engine.compute;
