/**
 * The paged KV cache: the off-heap pool ({@code [pages, pageSize, kvHeads, headDim]} per layer for K and V),
 * the page allocator and the request→token-slot table. Pages are the unit the transfer layer will move; every page
 * has one owner (a table row) until it is released.
 */
package dev.tandem.kvcache;
