/**
 * Configuration records and their validation, in one place: command-line flags ({@link dev.tandem.config.Args})
 * and engine settings ({@link dev.tandem.config.EngineConfig}). Errors name the field and the bad value. Values are
 * parsed once, here, into the enums the rest reads: which compute backend runs the model
 * ({@link dev.tandem.config.ComputeBackendKind}), how weights are held ({@link dev.tandem.config.Quantization}) and
 * how the KV pool stores K/V ({@link dev.tandem.config.KvDtype}, with its bf16 rounding, which every side that reads
 * or writes the pool shares).
 */
package dev.tandem.config;
