/**
 * KV-cache events, pure (no Vert.x): the event records, SGLang's block hash (CPython's tuple hash), the msgpack
 * codec in SGLang's array form and vLLM's map form, and the publishers ({@code null}, {@code zmq} with replay; the
 * worker registers {@code eventbus}). See README.md here for the wire contract and the parent-hash rule.
 */
package dev.tandem.kvevents;
