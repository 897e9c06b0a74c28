package dev.tandem.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscribers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Drives one open-loop run: sends each request of the {@link Workload} at its arrival time whether or not earlier ones
 * have finished (so a slow server sees a growing queue, as under real traffic), streams every response through
 * {@link SseParser} into a {@link RequestRecorder}, and after the last completion (or the timeout, which cancels what
 * is still outstanding and counts it failed) aggregates a {@link BenchReport}.
 */
public final class BenchRunner {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BenchConfig config;
    private final Workload workload;
    private final Consumer<String> log;

    /** {@code log} receives progress lines (the CLI sends them to stderr; tests may drop them). */
    public BenchRunner(BenchConfig config, Consumer<String> log) {
        this(config, Workload.generate(config), log);
    }

    /** Runs {@code workload} (its prompts and arrivals) with {@code config}'s URL, output length and timeout. */
    public BenchRunner(BenchConfig config, Workload workload, Consumer<String> log) {
        this.config = config;
        this.workload = workload;
        this.log = log;
    }

    /** What one run measured: the report, and each request's result in send order (its output ids included). */
    public record Outcome(BenchReport report, List<RequestResult> results) {
    }

    public BenchReport run() {
        return runAll().report();
    }

    /** Runs the workload; like {@link #run()}, but keeps every request's result. */
    public Outcome runAll() {
        Workload w = workload;
        int n = w.size();
        URI uri = URI.create(config.url() + "/generate");
        // Built before the clock starts so JSON encoding never delays a send.
        List<HttpRequest> requests = new ArrayList<>(n);
        for (int[] ids : w.inputIds()) {
            requests.add(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                    .header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body(ids, config.outputLen()))).build());
        }
        RequestRecorder[] recorders = new RequestRecorder[n];
        List<CompletableFuture<HttpResponse<Void>>> inFlight = new ArrayList<>(n);
        List<CompletableFuture<?>> settled = new ArrayList<>(n);
        log.accept(String.format("sending %d requests to %s at %s req/s (input %d (mean), output %d tokens)", n, uri,
                config.rateLabel(), Math.round(java.util.Arrays.stream(w.inputLens()).average().orElse(0)),
                config.outputLen()));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(30)).build();
        try {
            long start = System.nanoTime();
            long deadline = start + (long) (config.timeoutS() * 1e9);
            for (int i = 0; i < n; i++) {
                if (!sleepUntil(Math.min(start + w.arrivalNanos()[i], deadline)) || System.nanoTime() >= deadline) {
                    break;
                }
                RequestRecorder rec = new RequestRecorder(System.nanoTime());
                recorders[i] = rec;
                CompletableFuture<HttpResponse<Void>> f = client.sendAsync(requests.get(i), info -> subscriber(info,
                        rec));
                inFlight.add(f);
                settled.add(f.handle((resp, ex) -> {
                    if (ex != null) {
                        rec.fail(describe(ex));
                    }
                    return null;
                }));
            }
            boolean timedOut = !awaitAll(settled, deadline);
            double durationS = (System.nanoTime() - start) / 1e9;
            String timeoutMsg = "timed out after --timeout " + config.timeoutS() + " s";
            if (timedOut) {
                // Fail first so the cancellation's own "Request cancelled" error does not win the race.
                for (RequestRecorder rec : recorders) {
                    if (rec != null) {
                        rec.fail(timeoutMsg); // no-op for a request that already finished
                    }
                }
                inFlight.forEach(f -> f.cancel(true));
            }
            List<RequestResult> results = new ArrayList<>(n);
            for (RequestRecorder rec : recorders) {
                results.add(rec == null ? RequestResult.failed("not sent: " + timeoutMsg) : rec.result());
            }
            return new Outcome(BenchReport.of(results, w.inputLens(), durationS), List.copyOf(results));
        } finally {
            // Closes connections still streaming after a timeout; a plain close() would wait for them.
            client.shutdownNow();
        }
    }

    /** The SGLang {@code /generate} body: {@code input_ids}, greedy, exactly {@code maxNewTokens} tokens, streamed. */
    static byte[] body(int[] inputIds, int maxNewTokens) {
        ObjectNode o = JSON.createObjectNode();
        ArrayNode ids = o.putArray("input_ids");
        for (int id : inputIds) {
            ids.add(id);
        }
        ObjectNode sp = o.putObject("sampling_params");
        sp.put("max_new_tokens", maxNewTokens);
        sp.put("temperature", 0);
        sp.put("ignore_eos", true);
        o.put("stream", true);
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A 200 streams lines into the recorder; any other status fails the request with the status and body. */
    private static HttpResponse.BodySubscriber<Void> subscriber(HttpResponse.ResponseInfo info, RequestRecorder rec) {
        if (info.statusCode() != 200) {
            return BodySubscribers.mapping(BodySubscribers.ofString(StandardCharsets.UTF_8), body -> {
                rec.fail("HTTP " + info.statusCode() + (body.isBlank() ? "" : ": " + SseParser.abbreviate(
                        body.strip())));
                return null;
            });
        }
        return BodySubscribers.fromLineSubscriber(new LineSubscriber(rec));
    }

    /** Stamps each line on arrival: the timestamps are the measurement, so nothing runs before {@code nanoTime}. */
    private record LineSubscriber(RequestRecorder rec) implements Flow.Subscriber<String> {
        @Override
        public void onSubscribe(Flow.Subscription s) {
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            long now = System.nanoTime();
            SseEvent e = SseParser.parse(line);
            if (e != null) {
                rec.onEvent(e, now);
            }
        }

        @Override
        public void onError(Throwable t) {
            rec.fail(describe(t));
        }

        @Override
        public void onComplete() {
            rec.endOfStream();
        }
    }

    /** Waits for every future until {@code deadline}; false when time ran out (or the thread was interrupted). */
    private static boolean awaitAll(List<CompletableFuture<?>> futures, long deadline) {
        try {
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                    .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            return true; // unreachable: each future is handle()d, so none completes exceptionally
        }
    }

    /** Sleeps until {@code nanoTime() >= at}; false if interrupted, which ends sending like a timeout. */
    private static boolean sleepUntil(long at) {
        long left;
        while ((left = at - System.nanoTime()) > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return !Thread.currentThread().isInterrupted();
    }

    private static String describe(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException || c instanceof ExecutionException)
                && c.getCause() != null) {
            c = c.getCause();
        }
        // HttpClient often wraps the useful text ("Connection refused") in a message-less exception: take the first.
        String msg = null;
        for (Throwable x = c; x != null && msg == null; x = x.getCause()) {
            msg = x.getMessage() == null || x.getMessage().isBlank() ? null : x.getMessage();
        }
        if (msg == null && c instanceof java.net.ConnectException) {
            msg = "could not connect (is the server up at --url?)"; // the JDK gives no text for a refused connect
        }
        return c.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }
}
