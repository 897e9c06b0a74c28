/**
 * The paged KV cache: the off-heap pool ({@code [pages, pageSize, kvHeads, headDim]} per layer for K and V),
 * the page allocator and the request→token-slot table. Pages are the unit the transfer layer will move; every page
 * has one owner (a table row) until it is released. A pool a peer may write is a {@link dev.tandem.kvcache.ShmFile}:
 * mode 0600, an unguessable name, and an OS lock held for its life so that only a dead owner's files are swept.
 * Where a pool's bytes come from is a {@link dev.tandem.kvcache.KvMemory} chosen at start-up (this process's memory,
 * such a file, or memory the transfer backend allocates: nixl's UCX); the pool frees its block through it.
 * The prefix cache ({@link dev.tandem.kvcache.RadixCache}) is a radix tree of whole pages over token ids whose nodes
 * ({@code RadixNode}) know which tier holds their pages (pool or host); it queues the KV events of what it stores and
 * evicts ({@code RadixEvents}) for the scheduler to publish.
 */
package dev.tandem.kvcache;
