package dev.tandem.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.hazelcast.config.Config;
import com.hazelcast.config.XmlConfigBuilder;
import dev.tandem.TestModels;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every file in {@code conf/} loads and validates as the role that reads it would load it. */
class ConfFilesTest {
    private static final Path CONF = Path.of("conf");

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(String name) throws IOException {
        return new ObjectMapper().readValue(CONF.resolve(name).toFile(), Map.class);
    }

    /** A worker config as written, with the model directory (which a checkout does not ship) made real. */
    private static WorkerConfig worker(String name) throws IOException {
        Map<String, Object> m = new HashMap<>(json(name));
        assertTrue(m.containsKey("model_path"), name + " names a model");
        m.put("model_path", TestModels.tiny().toString());
        return WorkerConfig.from(m, null);
    }

    @Test
    void everyConfFileLoadsAndValidates() throws Exception {
        assertEquals("null", worker("worker.json").mode());
        WorkerConfig prefill = worker("prefill.json");
        assertEquals("prefill", prefill.mode());
        WorkerConfig decode = worker("decode.json");
        assertEquals("decode", decode.mode());
        assertTrue(prefill.pd().cluster() && decode.pd().cluster(), "PD roles run clustered");
        GatewayConfig g = GatewayConfig.from(json("gateway.json"), Args.parse(new String[0], Set.of()));
        assertEquals(8000, g.port());
        Config hz = new XmlConfigBuilder(CONF.resolve("cluster.xml").toString()).build();
        assertFalse(hz.getNetworkConfig().getJoin().getMulticastConfig().isEnabled(), "multicast off");
        assertTrue(hz.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled(), "TCP-IP join");
        Set<String> checked = Set.of("worker.json", "prefill.json", "decode.json", "gateway.json", "cluster.xml",
                "README.md");
        try (Stream<Path> files = Files.list(CONF)) {
            Set<String> all = files.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(new TreeSet<>(checked), all, "a new file in conf/ needs a check here");
        }
    }
}
