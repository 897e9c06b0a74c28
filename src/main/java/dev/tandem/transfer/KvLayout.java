package dev.tandem.transfer;

/**
 * Where pages live in a peer's KV segment: SGLang's order, K of layers 0..L-1 then V of layers 0..L-1, each region
 * {@code regionBytes} long, page {@code p} at {@code p * pageBytes} inside its region. Crosses the event bus in the
 * KV-args registration.
 */
public record KvLayout(int numLayers, long regionBytes, long pageBytes) {

    public long offset(int layer, boolean value, int page) {
        return ((value ? numLayers : 0) + (long) layer) * regionBytes + page * pageBytes;
    }
}
