/**
 * Safetensors: read (mmapped with FFM, single file or sharded with an index) and write. Owns the mappings of
 * a model's weight files; errors name the file and the tensor.
 */
package dev.tandem.engine.weights;
