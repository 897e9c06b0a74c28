package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.ErrorBodies;
import io.vertx.core.AsyncResult;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerResponse;

import java.util.ArrayList;
import java.util.List;

/**
 * One request's pair of upstream calls and how their answers become the client's: the decode worker's status and
 * body, with the prefill worker's prompt logprobs in front when asked; the decode stream relayed event by event.
 * Either side failing ends the exchange at once and aborts the other side; nothing is ever sent again. A worker's
 * client error (4xx: an empty {@code messages} list, a bad sampling parameter) reaches the client as that status
 * with the worker's message, sanitized and bounded, in the route's error shape; a 5xx or a transport failure is a
 * 502 (or an SSE error event when the stream has begun). Runs on one event loop.
 */
final class Exchange {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** What the gateway reads of a worker's error answer. */
    private static final int MAX_ERROR_BYTES = 64 << 10;

    /** Aborts the request on the worker at {@code url} (by the rids the gateway gave it). */
    interface Aborter {
        void abort(String url);
    }

    private final HttpServerResponse out;
    private final boolean openAi;
    private final boolean stream;
    private final boolean logprobs;
    private final String prefillUrl;
    private final String decodeUrl;
    private final Aborter aborter;
    private final Runnable onEnd;
    private final Promise<JsonNode> prefillJson = Promise.promise();
    private final List<String> pendingEvents = new ArrayList<>();
    private final StringBuilder sseCarry = new StringBuilder();
    private boolean done;
    private boolean decodeFinished;
    private String outcome = "ok";
    private java.util.function.Consumer<Boolean> prefillVerdict = ok -> { };
    private boolean prefillJudged;

    Exchange(HttpServerResponse out, boolean openAi, boolean stream, boolean logprobs, String prefillUrl,
             String decodeUrl, Aborter aborter, Runnable onEnd) {
        this.out = out;
        this.openAi = openAi;
        this.stream = stream;
        this.logprobs = logprobs;
        this.prefillUrl = prefillUrl;
        this.decodeUrl = decodeUrl;
        this.aborter = aborter;
        this.onEnd = onEnd;
    }

    boolean done() {
        return done;
    }

    String outcome() {
        return outcome;
    }

    /**
     * Told once whether the prefill worker answered properly (a client error counts as proper), even when the
     * exchange already ended on the decode side's answer: the circuit breaker judges each side on its own.
     */
    void onPrefillVerdict(java.util.function.Consumer<Boolean> verdict) {
        this.prefillVerdict = verdict;
    }

    private void judgePrefill(boolean ok) {
        if (!prefillJudged) {
            prefillJudged = true;
            prefillVerdict.accept(ok);
        }
    }

    void onPrefill(AsyncResult<HttpClientResponse> ar) {
        if (ar.failed()) {
            judgePrefill(false);
            prefillFailed(502, "prefill worker " + prefillUrl + " failed: " + ar.cause().getMessage(), null);
            return;
        }
        HttpClientResponse r = ar.result();
        if (r.statusCode() != 200) {
            WorkerClient.read(r, MAX_ERROR_BYTES).onComplete(b -> {
                if (b.failed()) {
                    judgePrefill(false);
                    prefillFailed(502, "prefill worker " + prefillUrl + " failed: " + b.cause().getMessage(), null);
                } else {
                    Upstream e = Upstream.of("prefill", prefillUrl, r.statusCode(), b.result().body());
                    judgePrefill(e.clientError());
                    prefillFailed(e.status(), e.message(), e.param());
                }
            });
            return;
        }
        r.body().onComplete(b -> {
            judgePrefill(b.succeeded());
            if (b.failed()) {
                prefillFailed(502, "prefill worker " + prefillUrl + " failed: " + b.cause().getMessage(), null);
            } else {
                prefillJson.tryComplete(parsePrefill(b.result()));
            }
        });
    }

    /**
     * How a worker's error answer reaches the client: a client error (4xx) as that status with the worker's
     * message and field, in the route's shape; anything else as a 502 naming the worker. A 401/403 is the gateway's
     * own key being refused, not the client's: a 502 too.
     */
    record Upstream(int status, String message, String param) {
        static Upstream of(String side, String url, int status, Buffer body) {
            String message = WorkerShapes.errorMessage(body);
            if (status >= 400 && status < 500 && status != 401 && status != 403 && status != 407) {
                return new Upstream(status, message, WorkerShapes.errorParam(body));
            }
            if (status == 401 || status == 403) {
                return new Upstream(502, side + " worker " + url + " refused the gateway's key (HTTP " + status
                        + "; check --worker-api-key)", null);
            }
            return new Upstream(502, side + " worker " + url + " answered " + status + ": " + message, null);
        }

        boolean clientError() {
            return status != 502;
        }
    }

    /** P's answer as JSON: the object (or batch list), or a stream's first event. */
    private JsonNode parsePrefill(Buffer body) {
        String s = body.toString();
        try {
            if (stream) {
                for (String block : s.split("\n\n")) {
                    String line = block.strip();
                    if (line.startsWith("data:") && !line.contains("[DONE]")) {
                        return JSON.readTree(line.substring(5).strip());
                    }
                }
                return null;
            }
            return JSON.readTree(s);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private void prefillFailed(int status, String message, String param) {
        if (!done) {
            // Before tryFail: a decode answer waiting on the prefill's JSON ends the exchange from inside it, and
            // the outcome (metrics, circuit breaker) must already blame the prefill side.
            outcome = status == 502 ? "prefill_error" : "client_error";
        }
        prefillJson.tryFail(message);
        if (done || decodeFinished) {
            return;
        }
        aborter.abort(decodeUrl);
        fail(status, message, param);
    }

    void onDecode(AsyncResult<HttpClientResponse> ar) {
        if (done) {
            return;
        }
        if (ar.failed()) {
            outcome = "decode_error";
            aborter.abort(prefillUrl);
            fail(502, "decode worker " + decodeUrl + " failed: " + ar.cause().getMessage(), null);
            return;
        }
        HttpClientResponse r = ar.result();
        if (r.statusCode() != 200) {
            WorkerClient.read(r, MAX_ERROR_BYTES).onComplete(b -> decodeFailed(r.statusCode(), b));
            return;
        }
        if (!stream) {
            r.body().onComplete(this::whole);
            return;
        }
        out.setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8")
                .putHeader("Cache-Control", "no-cache");
        r.handler(chunk -> streamChunk(chunk));
        r.exceptionHandler(e -> {
            outcome = "decode_error";
            fail(502, "decode worker " + decodeUrl + " broke the stream: " + e.getMessage(), null);
        });
        r.endHandler(v -> {
            decodeFinished = true;
            flushEvents(true);
        });
    }

    /** The decode worker answered an error status: relay a client error, else a 502; abort the prefill side. */
    private void decodeFailed(int status, AsyncResult<WorkerClient.Reply> b) {
        if (done) {
            return;
        }
        decodeFinished = true;
        Upstream e = b.succeeded() ? Upstream.of("decode", decodeUrl, status, b.result().body())
                : new Upstream(502, "decode worker " + decodeUrl + " failed: " + b.cause().getMessage(), null);
        outcome = e.clientError() ? "client_error" : "decode_error";
        aborter.abort(prefillUrl);
        fail(e.status(), e.message(), e.param());
    }

    /** A non-streaming 200 answer: relay it, merging logprobs when asked. */
    private void whole(AsyncResult<Buffer> b) {
        if (done) {
            return;
        }
        if (b.failed()) {
            outcome = "decode_error";
            aborter.abort(prefillUrl);
            fail(502, "decode worker " + decodeUrl + " failed: " + b.cause().getMessage(), null);
            return;
        }
        decodeFinished = true;
        if (!logprobs) {
            end(200, b.result().toString());
            return;
        }
        prefillJson.future().onComplete(p -> {
            if (done) {
                return;
            }
            try {
                JsonNode d = JSON.readTree(b.result().toString());
                if (p.succeeded()) {
                    LogprobMerge.merge(p.result(), d);
                }
                end(200, d.toString());
            } catch (java.io.IOException e) {
                end(200, b.result().toString());
            }
        });
    }

    private void streamChunk(Buffer chunk) {
        if (done) {
            return;
        }
        if (!logprobs) {
            out.write(chunk); // relayed intact
            return;
        }
        sseCarry.append(chunk.toString());
        int cut;
        while ((cut = sseCarry.indexOf("\n\n")) >= 0) {
            pendingEvents.add(sseCarry.substring(0, cut));
            sseCarry.delete(0, cut + 2);
        }
        flushEvents(false);
    }

    /** Writes buffered decode events once the prefill's logprobs are known (or cannot be). */
    private void flushEvents(boolean end) {
        if (done) {
            return;
        }
        if (!logprobs) {
            if (end) {
                finish();
            }
            return;
        }
        if (!prefillJson.future().isComplete()) {
            prefillJson.future().onComplete(v -> flushEvents(end));
            return;
        }
        JsonNode p = prefillJson.future().succeeded() ? prefillJson.future().result() : null;
        for (String event : pendingEvents) {
            String line = event.strip();
            if (line.startsWith("data:") && !line.contains("[DONE]") && p != null) {
                try {
                    JsonNode d = JSON.readTree(line.substring(5).strip());
                    LogprobMerge.merge(p, d);
                    out.write("data: " + d + "\n\n");
                    continue;
                } catch (java.io.IOException notJson) {
                    // relay as is
                }
            }
            out.write(event + "\n\n");
        }
        pendingEvents.clear();
        if (end) {
            finish();
        }
    }

    /** Ends with an error: a JSON body when nothing was sent yet, else an SSE error event and [DONE]. */
    void fail(int status, String message, String param) {
        if (done) {
            return;
        }
        if (out.headWritten()) {
            out.write("data: " + ErrorBodies.nativeBody(message) + "\n\n");
            out.write("data: [DONE]\n\n");
            finish();
            return;
        }
        end(status, GatewayErrors.body(openAi, status, message, param));
    }

    private void end(int status, String body) {
        if (done) {
            return;
        }
        done = true;
        if (!out.closed() && !out.ended()) {
            out.setStatusCode(status).putHeader("Content-Type", "application/json").end(body);
        }
        onEnd.run();
    }

    private void finish() {
        if (done) {
            return;
        }
        done = true;
        if (!out.closed() && !out.ended()) {
            out.end();
        }
        onEnd.run();
    }

    /** The client went away or the timeout hit: abort both sides. */
    void cancel(int status, String message) {
        if (done) {
            return;
        }
        outcome = status == 504 ? "timeout" : "cancelled";
        aborter.abort(prefillUrl);
        aborter.abort(decodeUrl);
        fail(status, message, null);
    }
}
