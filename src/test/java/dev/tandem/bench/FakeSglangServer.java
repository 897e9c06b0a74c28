package dev.tandem.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for SGLang's streaming {@code POST /generate} on 127.0.0.1: for each request it streams
 * {@code max_new_tokens} events of one token each (a short sleep apart) and {@code data: [DONE]}, chunked. Requests
 * whose arrival number {@code rejectEvery} divides (1-based) get a 400; with {@code stallAfterFirst} every stream sends
 * one token and then hangs until the server closes, to exercise the timeout.
 */
final class FakeSglangServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    final List<JsonNode> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger arrivals = new AtomicInteger();
    private final CountDownLatch closing = new CountDownLatch(1);
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final int rejectEvery;
    private final boolean stallAfterFirst;

    FakeSglangServer(int rejectEvery, boolean stallAfterFirst) throws IOException {
        this.rejectEvery = rejectEvery;
        this.stallAfterFirst = stallAfterFirst;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/generate", this::handle);
        server.setExecutor(pool);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("POST")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            JsonNode req = JSON.readTree(ex.getRequestBody());
            received.add(req);
            int n = arrivals.incrementAndGet();
            if (rejectEvery > 0 && n % rejectEvery == 0) {
                byte[] msg = "{\"error\":\"rejected by the fake server\"}".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(400, msg.length);
                ex.getResponseBody().write(msg);
                return;
            }
            int tokens = req.path("sampling_params").path("max_new_tokens").asInt();
            int prompt = req.path("input_ids").size();
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0); // 0 = chunked
            OutputStream out = ex.getResponseBody();
            StringBuilder text = new StringBuilder();
            for (int i = 1; i <= tokens; i++) {
                text.append('x');
                String finish = i == tokens ? "{\"type\":\"length\",\"length\":" + tokens + "}" : "null";
                send(out, "data: {\"text\":\"" + text + "\",\"output_ids\":[" + (100 + i) + "],\"meta_info\":{\"id\":\""
                        + n + "\",\"finish_reason\":" + finish + ",\"prompt_tokens\":" + prompt
                        + ",\"completion_tokens\":" + i + "}}\n\n");
                if (stallAfterFirst) {
                    closing.await();
                    return;
                }
                Thread.sleep(2);
            }
            send(out, "data: [DONE]\n\n");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void send(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() {
        closing.countDown();
        server.stop(0);
        pool.shutdownNow();
    }
}
