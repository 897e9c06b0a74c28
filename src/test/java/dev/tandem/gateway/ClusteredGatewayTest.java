package dev.tandem.gateway;

import dev.tandem.cli.VertxFactory;
import dev.tandem.config.Args;
import dev.tandem.config.GatewayConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Two gateways on one Hazelcast cluster (two clustered Vert.x instances over loopback) share one registry. */
class ClusteredGatewayTest {

    @Test
    void aWorkerRegisteredWithOneGatewayIsSeenByTheOther() throws Exception {
        Vertx a = VertxFactory.create(true, "127.0.0.1");
        Vertx b = VertxFactory.create(true, "127.0.0.1");
        try {
            GatewayConfig cfg = GatewayConfig.from(Args.parse(new String[] {"--port", "0"}, Set.of()));
            GatewayVerticle ga = new GatewayVerticle(cfg);
            GatewayVerticle gb = new GatewayVerticle(cfg);
            a.deployVerticle(ga).await();
            b.deployVerticle(gb).await();
            WebClient ca = WebClient.create(a);
            WebClient cb = WebClient.create(b);
            assertEquals(200, ca.post(ga.port(), "127.0.0.1", "/register").sendBuffer(Buffer.buffer(
                    "{\"mode\": \"prefill\", \"registry_url\": \"http://127.0.0.1:30999\", \"bootstrap_port\": 8999}"))
                    .await().statusCode());
            JsonArray seen = new JsonArray();
            for (int i = 0; i < 100 && seen.isEmpty(); i++) {
                seen = cb.get(gb.port(), "127.0.0.1", "/list_workers").send().await().bodyAsJsonObject()
                        .getJsonArray("prefill");
                Thread.sleep(50);
            }
            assertEquals(1, seen.size());
            assertEquals("http://127.0.0.1:30999", seen.getJsonObject(0).getString("url"));
            assertEquals(8999, seen.getJsonObject(0).getInteger("bootstrap_port"));
        } finally {
            a.close().await();
            b.close().await();
        }
    }
}
