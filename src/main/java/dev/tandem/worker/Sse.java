package dev.tandem.worker;

import io.vertx.core.http.HttpServerResponse;

/** Server-sent events as SGLang and OpenAI stream them: {@code data: <json>} blocks, ending with {@code [DONE]}. */
final class Sse {
    private Sse() {
    }

    static void start(HttpServerResponse r) {
        if (!r.headWritten()) {
            r.setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8")
                    .putHeader("Cache-Control", "no-cache");
        }
    }

    static void send(HttpServerResponse r, Object json) {
        if (!r.closed() && !r.ended()) {
            start(r);
            r.write("data: " + json + "\n\n");
        }
    }

    static void done(HttpServerResponse r) {
        if (!r.closed() && !r.ended()) {
            start(r);
            r.end("data: [DONE]\n\n");
        }
    }
}
