/**
 * The paged KV cache: the off-heap pool ({@code [pages, pageSize, kvHeads, headDim]} per layer for K and V),
 * the page allocator and the request→token-slot table. Pages are the unit the transfer layer will move; every page
 * has one owner (a table row) until it is released. A pool a peer may write is a {@link dev.tandem.kvcache.ShmFile}:
 * mode 0600, an unguessable name, and an OS lock held for its life so that only a dead owner's files are swept.
 */
package dev.tandem.kvcache;
