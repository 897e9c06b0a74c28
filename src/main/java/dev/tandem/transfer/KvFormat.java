package dev.tandem.transfer;

/**
 * What the bytes of a KV page mean, beyond their layout: a prefill worker may only push into a decode worker whose
 * pages hold the same thing. Two pools can agree on page bytes and still differ (bf16 pages of 32 tokens are as long
 * as float32 pages of 16), and K/V computed from int8 weights continue differently on a worker with BF16 weights.
 * Crosses the event bus in frame A.
 *
 * @param kvDtype      the pool's element type, canonical ("float32", "bf16")
 * @param quantization how the worker holds its linear weights ("none", "int8")
 * @param pageSize     tokens per page
 */
public record KvFormat(String kvDtype, String quantization, int pageSize) {
    public KvFormat {
        if (kvDtype == null || kvDtype.isEmpty() || quantization == null || quantization.isEmpty() || pageSize < 1) {
            throw new IllegalArgumentException("KV format needs kv_cache_dtype, quantization and page_size >= 1, got "
                    + kvDtype + ", " + quantization + ", " + pageSize);
        }
    }

    /**
     * Refuses to pair when a prefill worker ({@code prefill}) and a decode worker ({@code decode}) differ, naming both
     * values of each field that differs. A side that declared nothing (null) is not checked.
     */
    public static void requireSame(KvFormat prefill, KvFormat decode, String decodeWorkerId) {
        if (prefill == null || decode == null || prefill.equals(decode)) {
            return;
        }
        StringBuilder diff = new StringBuilder();
        differ(diff, "kv_cache_dtype", prefill.kvDtype, decode.kvDtype);
        differ(diff, "quantization", prefill.quantization, decode.quantization);
        differ(diff, "page_size", String.valueOf(prefill.pageSize), String.valueOf(decode.pageSize));
        throw new IllegalArgumentException("decode worker " + decodeWorkerId + " cannot pair with this prefill worker: "
                + diff + " (prefill and decode workers must use the same --kv-cache-dtype, --quantization and"
                + " --page-size)");
    }

    private static void differ(StringBuilder out, String field, String prefill, String decode) {
        if (!prefill.equals(decode)) {
            out.append(out.isEmpty() ? "" : ", ").append(field).append(" is ").append(decode)
                    .append(" on the decode worker but ").append(prefill).append(" here");
        }
    }

    @Override
    public String toString() {
        return "kv_cache_dtype=" + kvDtype + " quantization=" + quantization + " page_size=" + pageSize;
    }
}
