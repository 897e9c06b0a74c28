/**
 * Element types and read-only tensor views over (usually mmapped) memory, in the dtype they are stored in.
 */
package dev.tandem.engine.tensor;
