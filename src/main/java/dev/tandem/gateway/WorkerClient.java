package dev.tandem.gateway;

import dev.tandem.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

import java.util.concurrent.TimeoutException;

/**
 * The gateway's calls to workers besides generation (health, load, info, flush, abort): each with the worker key
 * of its kind as {@code Authorization: Bearer} (never the client's header), a deadline, and a cap on what is read,
 * so a slow or hostile worker can neither hold a caller nor fill the gateway's heap.
 */
final class WorkerClient {
    /** A worker's answer: its status and at most {@code maxBytes} of its body ({@code truncated} if there was more). */
    record Reply(int status, Buffer body, boolean truncated) {
    }

    private final Vertx vertx;
    private final HttpClient http;
    private final GatewayConfig.WorkerKeys keys;

    WorkerClient(Vertx vertx, HttpClient http, GatewayConfig.WorkerKeys keys) {
        this.vertx = vertx;
        this.http = http;
        this.keys = keys;
    }

    /** The header value for a call needing the worker's admin key ({@code admin}) or its API key; null for none. */
    String authorization(boolean admin) {
        String k = admin ? keys.adminApiKey() : keys.apiKey();
        return k == null ? null : "Bearer " + k;
    }

    /** {@code method url+path} with an optional JSON body; fails on a transport error or past {@code timeoutMs}. */
    Future<Reply> call(HttpMethod method, String url, String path, Buffer body, boolean admin, long timeoutMs,
                       int maxBytes) {
        RequestOptions o = new RequestOptions().setMethod(method).setAbsoluteURI(url + path)
                .setConnectTimeout(Math.min(timeoutMs, 2000)).setIdleTimeout(timeoutMs);
        String auth = authorization(admin);
        if (auth != null) {
            o.putHeader("Authorization", auth);
        }
        if (body != null) {
            o.putHeader("Content-Type", "application/json");
        }
        Promise<Reply> done = Promise.promise();
        HttpClientRequest[] req = new HttpClientRequest[1];
        long timer = vertx.setTimer(timeoutMs, t -> {
            if (done.tryFail(new TimeoutException("no answer from " + url + path + " within " + timeoutMs + " ms"))
                    && req[0] != null) {
                req[0].reset();
            }
        });
        http.request(o).compose(r -> {
            req[0] = r;
            if (done.future().isComplete()) { // the deadline passed while connecting: send nothing late
                r.reset();
                return Future.failedFuture("deadline passed");
            }
            return body == null ? r.send() : r.send(body);
        }).compose(r -> read(r, maxBytes)).onComplete(ar -> {
            vertx.cancelTimer(timer);
            if (ar.succeeded()) {
                done.tryComplete(ar.result());
            } else {
                done.tryFail(ar.cause());
            }
        });
        return done.future();
    }

    /**
     * Reads {@code r}'s body up to {@code maxBytes}; past that it stops reading, resets the request (the rest never
     * arrives) and answers what it has, marked truncated.
     */
    static Future<Reply> read(HttpClientResponse r, int maxBytes) {
        Promise<Reply> p = Promise.promise();
        Buffer acc = Buffer.buffer();
        r.handler(chunk -> {
            if (p.future().isComplete()) {
                return;
            }
            int room = maxBytes - acc.length();
            if (chunk.length() <= room) {
                acc.appendBuffer(chunk);
                return;
            }
            acc.appendBuffer(chunk, 0, Math.max(room, 0));
            p.tryComplete(new Reply(r.statusCode(), acc, true));
            r.request().reset();
        });
        r.exceptionHandler(p::tryFail);
        r.endHandler(v -> p.tryComplete(new Reply(r.statusCode(), acc, false)));
        return p.future();
    }
}
