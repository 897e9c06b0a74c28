/**
 * HiCache, the hierarchical prefix cache behind the KV pool (L1): host memory (L2, {@link dev.tandem.hicache.HostTier})
 * and storage shared by workers that survives restarts (L3, {@link dev.tandem.hicache.HiCacheStorage}; the
 * {@code file} backend). Pages are keyed by SGLang's chained SHA-256 page keys plus a model/layout suffix
 * ({@link dev.tandem.hicache.PageKeys}); a stored page is checked on read, so a damaged one is a miss, never wrong
 * output. {@link dev.tandem.hicache.HiCache} ties the tiers together and owns their threads: the copy thread between
 * the pool and host memory ({@code PageCopier}) and the storage I/O thread. Host pages carry handles (slot and
 * generation) that the radix tree keeps per node, so it knows which tier holds each node's pages. Pure: no Vert.x.
 */
package dev.tandem.hicache;
