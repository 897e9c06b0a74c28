package dev.tandem.api;

/**
 * What one parsed request may ask for, checked while parsing (each refusal a 400 naming the field). The worker and
 * gateway build it from their {@code InputLimits}; {@link #DEFAULT} matches those defaults.
 *
 * @param maxBatchItems  batch size × {@code n}: the scheduler requests one HTTP request may create
 * @param maxStopStrings entries of {@code stop} (and of {@code stop_token_ids})
 * @param maxStopLength  characters (code points) of one stop string
 */
public record RequestLimits(int maxBatchItems, int maxStopStrings, int maxStopLength) {
    public static final RequestLimits DEFAULT = new RequestLimits(256, 64, 4096);

    public RequestLimits {
        if (maxBatchItems < 1 || maxStopStrings < 0 || maxStopLength < 1) {
            throw new IllegalArgumentException("request limits out of range: " + maxBatchItems + ", "
                    + maxStopStrings + ", " + maxStopLength);
        }
    }

    /** Refuses a request that would expand to more than {@link #maxBatchItems} items. */
    void checkItems(long items, String field) {
        if (items > maxBatchItems) {
            throw new ApiException(400, "Invalid " + field + ": the request expands to " + items
                    + " items (batch size × n), more than max_batch_items = " + maxBatchItems, field);
        }
    }
}
