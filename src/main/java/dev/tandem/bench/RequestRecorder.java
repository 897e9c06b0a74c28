package dev.tandem.bench;

import java.util.Arrays;

/**
 * Times one streaming request from the events it receives. Pure: the caller passes the {@code System.nanoTime()} of
 * each arrival, so tests can drive it with made-up clocks. Methods are synchronized because the HTTP client delivers
 * lines on its own threads while the runner may time the request out from another.
 *
 * <p>Token counting follows SGLang's {@code bench_serving}: an event's new tokens are the growth of the cumulative
 * {@code completion_tokens} (falling back to the length of its {@code output_ids}), which stays right whether the
 * server streams ids incrementally or cumulatively. TTFT is send → first event with a token; each later event's gap
 * since the previous token-carrying event is split evenly over the tokens it carried (one ITL sample per token).
 * Extra tokens riding in the first event arrived with it and get no ITL sample, as in SGLang. E2E is send → [DONE].
 */
public final class RequestRecorder {
    private final long sendNanos;
    private long firstTokenNanos = -1;
    private long lastTokenNanos = -1;
    private long doneNanos = -1;
    private String error;
    private int tokens;
    private int idsReceived;
    private int reportedCompletion = -1;
    private int reportedPrompt = -1;
    private int reportedCached = -1;
    private double[] itl = new double[16];
    private int itlCount;
    private int[] ids = new int[16];
    private int idCount;

    public RequestRecorder(long sendNanos) {
        this.sendNanos = sendNanos;
    }

    /** Feeds one parsed event that arrived at {@code nowNanos}; anything after [DONE] or an error is ignored. */
    public synchronized void onEvent(SseEvent event, long nowNanos) {
        if (isFinished()) {
            return;
        }
        switch (event) {
            case SseEvent.Done d -> doneNanos = nowNanos;
            case SseEvent.Error e -> error = e.message();
            case SseEvent.Data d -> onData(d, nowNanos);
        }
    }

    private void onData(SseEvent.Data d, long nowNanos) {
        idsReceived += d.outputIds();
        if (d.promptTokens() >= 0) {
            reportedPrompt = d.promptTokens();
        }
        if (d.cachedTokens() >= 0) {
            reportedCached = d.cachedTokens();
        }
        int fresh;
        if (d.completionTokens() >= 0) {
            fresh = Math.max(0, d.completionTokens() - tokens);
            reportedCompletion = d.completionTokens();
        } else {
            fresh = d.outputIds();
        }
        if (fresh == 0) {
            return;
        }
        keepIds(d.ids(), fresh);
        tokens += fresh;
        if (firstTokenNanos < 0) {
            firstTokenNanos = nowNanos;
        } else {
            double perToken = (nowNanos - lastTokenNanos) / 1e6 / fresh;
            if (itlCount + fresh > itl.length) {
                itl = Arrays.copyOf(itl, Math.max(itl.length * 2, itlCount + fresh));
            }
            Arrays.fill(itl, itlCount, itlCount + fresh, perToken);
            itlCount += fresh;
        }
        lastTokenNanos = nowNanos;
    }

    /**
     * Keeps the event's last {@code fresh} ids: all of them when the server streams new ids only, the new tail when
     * it resends every id so far (stock SGLang without incremental output).
     */
    private void keepIds(int[] eventIds, int fresh) {
        int n = Math.min(fresh, eventIds.length);
        if (idCount + n > ids.length) {
            ids = Arrays.copyOf(ids, Math.max(ids.length * 2, idCount + n));
        }
        System.arraycopy(eventIds, eventIds.length - n, ids, idCount, n);
        idCount += n;
    }

    /** Marks the request failed unless it already finished; the first error wins. */
    public synchronized void fail(String message) {
        if (!isFinished()) {
            error = message;
        }
    }

    /** The response body ended; without a [DONE] first, the request is cut short and failed. */
    public synchronized void endOfStream() {
        fail("stream ended before data: [DONE]");
    }

    public synchronized boolean isFinished() {
        return doneNanos >= 0 || error != null;
    }

    /** The outcome so far; a request neither done nor failed reports as failed ("unfinished"). */
    public synchronized RequestResult result() {
        if (error != null) {
            return RequestResult.failed(error);
        }
        if (doneNanos < 0) {
            return RequestResult.failed("unfinished");
        }
        if (firstTokenNanos < 0) {
            return RequestResult.failed("no output tokens before data: [DONE]");
        }
        int out = reportedCompletion >= 0 ? reportedCompletion : idsReceived;
        return new RequestResult(true, null, (firstTokenNanos - sendNanos) / 1e6, (doneNanos - sendNanos) / 1e6,
                Arrays.copyOf(itl, itlCount), out, reportedPrompt, reportedCached, Arrays.copyOf(ids, idCount));
    }
}
