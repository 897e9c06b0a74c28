package dev.tandem.scheduler;

/**
 * Which requests an abort (or a pause) reaches. A client names a request by its rid ({@link Rid}); the HTTP layer
 * acting on its own items (a client gone, a stalled stream, a failed sibling) names exactly those items
 * ({@link Exact}), so it can never reach another client's request that happens to carry the same rid.
 */
public sealed interface RequestScope {
    boolean covers(SchedulerRequest r);

    /**
     * {@code /abort_request {"rid": rid}}: the request whose rid is {@code rid} and the items derived from it (the
     * {@code n} copies and OpenAI choices, whose {@link SchedulerRequest#group()} is the rid the client named). An
     * exact comparison, never a prefix: an abort of {@code a} does not reach {@code ab}, {@code a1} or another
     * client's {@code a-1}.
     */
    record Rid(String rid) implements RequestScope {
        @Override
        public boolean covers(SchedulerRequest r) {
            return r.rid().equals(rid) || r.group().equals(rid);
        }
    }

    /** The one request whose outputs go to {@code sink} (sinks are created per item, so identity is exact). */
    record Exact(OutputSink sink) implements RequestScope {
        @Override
        public boolean covers(SchedulerRequest r) {
            return r.sink() == sink;
        }
    }
}
