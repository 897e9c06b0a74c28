package dev.tandem.worker;

import dev.tandem.Await;
import dev.tandem.bus.BusAddresses;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Workers announce themselves (gateway /register with SGLang's body, and the event bus) and export PD metrics. */
@ExtendWith(VertxExtension.class)
class PdRegistrationTest {

    @Test
    void workersRegisterWithTheGatewayAnnounceOnTheBusAndCountTransferredBytes(Vertx vertx) throws Exception {
        List<JsonObject> registered = new CopyOnWriteArrayList<>();
        List<JsonObject> announced = new CopyOnWriteArrayList<>();
        var signer = new dev.tandem.bus.BusSigner(dev.tandem.config.ClusterSecret.load(null), null);
        vertx.eventBus().<JsonObject>consumer(BusAddresses.WORKERS,
                m -> announced.add(signer.open(BusAddresses.WORKERS, m.body())));
        HttpServer gateway = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
            if (req.path().equals("/register")) {
                registered.add(b.toJsonObject());
            }
            req.response().setStatusCode(200).end();
        })).listen(0, "127.0.0.1").await();
        String url = "http://127.0.0.1:" + gateway.actualPort();
        int bootstrap = 28201;
        try (WorkerFixture p = new WorkerFixture(vertx, "--mode", "prefill", "--bootstrap-port", "" + bootstrap,
                "--gateway-url", url);
             WorkerFixture d = new WorkerFixture(vertx, "--mode", "decode", "--gateway-url", url)) {
            for (int i = 0; i < 100 && registered.size() < 2; i++) {
                Thread.sleep(20);
            }
            assertTrue(registered.contains(new JsonObject().put("mode", "prefill")
                    .put("registry_url", "http://127.0.0.1:" + p.port).put("bootstrap_port", bootstrap)), registered.toString());
            assertTrue(registered.contains(new JsonObject().put("mode", "decode")
                    .put("registry_url", "http://127.0.0.1:" + d.port).putNull("bootstrap_port")), registered.toString());
            // The bus announcement and the HTTP registration reach us on different event loops: having the one
            // says nothing of the other.
            BooleanSupplier decodeAnnounced = () -> announced.stream().anyMatch(a -> a.getString("registry_url")
                    .endsWith(":" + d.port) && a.getString("mode").equals("decode") && a.getString("worker_id") != null);
            Await.until("the decode worker's announcement on the bus", Duration.ofSeconds(10), decodeAnnounced);
            assertTrue(decodeAnnounced.getAsBoolean(), announced.toString());

            String body = "{\"input_ids\": [508, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], "
                    + "\"sampling_params\": {\"max_new_tokens\": 3, \"temperature\": 0}, \"bootstrap_host\": "
                    + "\"127.0.0.1\", \"bootstrap_port\": " + bootstrap + ", \"bootstrap_room\": 42}";
            var dr = d.client.post("/generate").sendBuffer(Buffer.buffer(body));
            assertEquals(200, p.post("/generate", body).status());
            assertEquals(200, dr.await().statusCode());
            String pm = p.get("/metrics").body();
            String dm = d.get("/metrics").body();
            for (String name : List.of("tandem_num_prefill_prealloc_queue_reqs", "tandem_num_prefill_inflight_queue_reqs",
                    "tandem_num_bootstrap_failed_reqs_total", "tandem_num_transfer_failed_reqs_total",
                    "tandem_kv_transfer_bytes_sent_bytes_total", "tandem_kv_transfer_send_latency_seconds_count")) {
                assertTrue(pm.contains(name), "prefill metrics lack " + name);
            }
            for (String name : List.of("tandem_num_decode_prealloc_queue_reqs", "tandem_num_decode_transfer_queue_reqs",
                    "tandem_kv_transfer_bytes_received_bytes_total", "tandem_kv_transfer_receive_latency_seconds_count")) {
                assertTrue(dm.contains(name), "decode metrics lack " + name);
            }
            // 18 tokens in pages of 16 = 2 pages, K and V, 4 layers, 16 * 64 floats per page.
            long expected = 2L * 2 * 4 * 16 * 64 * 4;
            assertTrue(pm.lines().anyMatch(l -> l.startsWith("tandem_kv_transfer_bytes_sent_bytes_total")
                    && l.endsWith(" " + (double) expected)),
                    "bytes sent: " + pm.lines().filter(l -> l.startsWith("tandem_kv_transfer_bytes_sent")).toList());
            assertTrue(dm.lines().anyMatch(l -> l.startsWith("tandem_kv_transfer_bytes_received_bytes_total")
                    && l.endsWith(" " + (double) expected)),
                    "bytes received: " + dm.lines().filter(l -> l.startsWith("tandem_kv_transfer_bytes_rec")).toList());
        } finally {
            gateway.close().await();
        }
    }
}
