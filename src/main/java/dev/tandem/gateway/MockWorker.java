package dev.tandem.gateway;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A stand-in worker that speaks SGLang's JSON without a model, for gateway tests and {@code bench-gateway}: a
 * prefill answers its one token (with made-up input logprobs when asked), a decode answers {@code tokens} tokens,
 * streaming or not. {@code delayMs} delays every generation; {@code failStatus} (non-zero) makes generations fail
 * with that status (the error in the route's shape). It records what it received and the {@code Authorization}
 * headers it was sent; {@link #keys} makes it demand keys as a Tandem worker started with them does.
 */
public final class MockWorker extends VerticleBase {
    private final String mode;
    private final long delayMs;
    private volatile int failStatus;
    private volatile String failMessage;
    private final int tokens;
    private final List<JsonObject> received = new CopyOnWriteArrayList<>();
    private final List<String> aborted = new CopyOnWriteArrayList<>();
    private final List<String> authorizations = new CopyOnWriteArrayList<>();
    private volatile String apiKey;
    private volatile String adminKey;
    private volatile Integer bootstrapPort;
    private volatile JsonObject serverInfo;
    private volatile String hang;
    private volatile boolean healthy = true;
    private volatile long load;
    private HttpServer server;

    public MockWorker(String mode, long delayMs, int failStatus, int tokens) {
        this.mode = mode;
        this.delayMs = delayMs;
        this.failStatus = failStatus;
        this.tokens = tokens;
        this.failMessage = mode + " failed";
    }

    @Override
    public Future<?> start() {
        Router r = Router.router(vertx);
        r.route().handler(BodyHandler.create(false));
        r.route().handler(this::checkKey);
        r.post("/generate").handler(ctx -> generate(ctx, false));
        r.post("/v1/completions").handler(ctx -> generate(ctx, true));
        r.post("/v1/chat/completions").handler(ctx -> generate(ctx, true));
        r.get("/health").handler(ctx -> ctx.response().setStatusCode(healthy ? 200 : 503).end());
        r.get("/health_generate").handler(ctx -> ctx.response().setStatusCode(healthy ? 200 : 503).end());
        r.get("/get_load").handler(ctx -> ctx.json(new JsonObject().put("load", load)));
        r.post("/flush_cache").handler(ctx -> ctx.response().end("Cache flushed.\n"));
        r.get("/get_server_info").handler(ctx -> ctx.json(serverInfo != null ? serverInfo : info()));
        r.get("/get_model_info").handler(ctx -> ctx.json(new JsonObject().put("model_path", "mock")
                .put("is_generation", true)));
        r.get("/v1/models").handler(ctx -> ctx.json(new JsonObject().put("object", "list")
                .put("data", new JsonArray().add(new JsonObject().put("id", "mock").put("object", "model")))));
        r.post("/abort_request").handler(ctx -> {
            aborted.add(ctx.body().asJsonObject().getString("rid"));
            ctx.response().end();
        });
        return vertx.createHttpServer().requestHandler(r).listen(0, "127.0.0.1").onSuccess(s -> server = s);
    }

    /** SGLang's server info as a Tandem worker reports it (worker/AdminRoutes). */
    private JsonObject info() {
        JsonObject o = new JsonObject().put("model_path", "mock").put("disaggregation_mode", mode)
                .put("internal_states", new JsonArray().add(new JsonObject().put("num_running_reqs", 0)
                        .put("num_waiting_reqs", 0).put("last_gen_throughput", 0.0)))
                .put("version", "mock");
        if (bootstrapPort != null) {
            o.put("disaggregation_bootstrap_port", bootstrapPort);
        }
        return o;
    }

    /** With {@link #keys}: the admin key on flush and abort, the API key (or admin key) elsewhere but health. */
    private void checkKey(RoutingContext ctx) {
        String auth = ctx.request().getHeader("Authorization");
        authorizations.add(ctx.request().path() + " " + auth);
        String path = ctx.request().path();
        if (path.equals(hang)) {
            return; // never answers
        }
        boolean admin = path.equals("/flush_cache") || path.equals("/abort_request");
        boolean open = path.equals("/health") || path.equals("/health_generate");
        boolean ok = open || (admin ? adminKey == null || ("Bearer " + adminKey).equals(auth)
                : apiKey == null || ("Bearer " + apiKey).equals(auth) || ("Bearer " + adminKey).equals(auth));
        if (ok) {
            ctx.next();
        } else {
            ctx.response().setStatusCode(401).putHeader("Content-Type", "application/json")
                    .end(new JsonObject().put("error", new JsonObject().put("message", "Unauthorized")).encode());
        }
    }

    private void generate(RoutingContext ctx, boolean openAi) {
        JsonObject body = ctx.body().asJsonObject();
        received.add(body);
        Runnable answer = () -> {
            if (ctx.response().closed()) {
                return;
            }
            if (failStatus != 0) {
                JsonObject error = openAi ? new JsonObject().put("object", "error").put("message", failMessage)
                        .put("type", "BadRequestError").put("param", "messages").put("code", failStatus)
                        : new JsonObject().put("error", new JsonObject().put("message", failMessage));
                ctx.response().setStatusCode(failStatus).putHeader("Content-Type", "application/json")
                        .end(error.encode());
                return;
            }
            int n = mode.equals("prefill") ? 1 : tokens;
            Object lpv = body.getValue("return_logprob");
            boolean lp = lpv instanceof Boolean b ? b : lpv instanceof JsonArray a && a.contains(true);
            int batch = body.getValue("text") instanceof JsonArray a ? a.size() : -1;
            if (!body.getBoolean("stream", false)) {
                if (batch >= 0 && !openAi) {
                    JsonArray items = new JsonArray();
                    for (int i = 0; i < batch; i++) {
                        items.add(item(n, n, lp, true));
                    }
                    ctx.json(items);
                } else {
                    ctx.json(openAi ? openAiBody(n) : item(n, n, lp, true));
                }
                return;
            }
            ctx.response().setChunked(true).putHeader("Content-Type", "text/event-stream");
            for (int i = 1; i <= n; i++) {
                ctx.response().write("data: " + (openAi ? openAiBody(1) : item(i, 1, lp, i == n)).encode() + "\n\n");
            }
            ctx.response().end("data: [DONE]\n\n");
        };
        if (delayMs > 0) {
            vertx.setTimer(delayMs, t -> answer.run());
        } else {
            answer.run();
        }
    }

    /** An SGLang /generate item: {@code count} tokens so far, {@code fresh} of them new. */
    private JsonObject item(int count, int fresh, boolean logprobs, boolean finished) {
        JsonArray ids = new JsonArray();
        for (int i = 0; i < fresh; i++) {
            ids.add(100 + count - fresh + i);
        }
        JsonObject meta = new JsonObject().put("id", "mock").put("prompt_tokens", 3).put("completion_tokens", count)
                .put("finish_reason", finished ? new JsonObject().put("type", "length").put("length", count) : null);
        if (logprobs) {
            JsonArray in = new JsonArray();
            if (mode.equals("prefill")) {
                in.add(new JsonArray().addNull().add(1).addNull()).add(new JsonArray().add(-0.5).add(2).addNull());
            }
            meta.put("input_token_logprobs", in).put("output_token_logprobs", new JsonArray());
        }
        return new JsonObject().put("text", "t".repeat(count)).put("output_ids", ids).put("meta_info", meta);
    }

    private JsonObject openAiBody(int n) {
        return new JsonObject().put("id", "cmpl-mock").put("object", "text_completion")
                .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("text", "t".repeat(n))
                        .put("finish_reason", "length")));
    }

    public String url() {
        return "http://127.0.0.1:" + server.actualPort();
    }

    public int port() {
        return server.actualPort();
    }

    public List<JsonObject> received() {
        return received;
    }

    public List<String> aborted() {
        return aborted;
    }

    public void healthy(boolean h) {
        this.healthy = h;
    }

    public void load(long l) {
        this.load = l;
    }

    /** Generations fail with {@code status} and {@code message} from now on (0: they succeed again). */
    public void fail(int status, String message) {
        this.failStatus = status;
        this.failMessage = message;
    }

    /** Demand these keys from now on (null: none). */
    public void keys(String apiKey, String adminKey) {
        this.apiKey = apiKey;
        this.adminKey = adminKey;
    }

    /** Report this bootstrap port in /get_server_info (null: none, as Tandem workers do today). */
    public void bootstrapPort(Integer port) {
        this.bootstrapPort = port;
    }

    /** Answer /get_server_info with exactly {@code info} (null: the usual answer). */
    public void serverInfo(JsonObject info) {
        this.serverInfo = info;
    }

    /** Requests to {@code path} get no answer from now on (null: all answered). */
    public void hang(String path) {
        this.hang = path;
    }

    /** "path Authorization-header" of every request received, in order. */
    public List<String> authorizations() {
        return authorizations;
    }
}
