package dev.tandem.gateway;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TestModels;
import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.config.GatewayConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The cache_aware settings: sgl-router's flags and defaults, validated with the flag in the message. */
class GatewayConfigCacheAwareTest {
    private static GatewayConfig parse(String... flags) {
        return GatewayConfig.from(Args.parse(flags, Set.of()));
    }

    private static String error(String... flags) {
        return assertThrows(ConfigException.class, () -> parse(flags)).getMessage();
    }

    @Test
    void defaultsAreSglRoutersAndNoTokenizerIsNeededWithoutCacheAware() {
        GatewayConfig c = parse("--policy", "round_robin");
        assertEquals(0.3, c.cacheThreshold());
        assertEquals(64, c.balanceAbsThreshold());
        assertEquals(1.5, c.balanceRelThreshold());
        assertEquals(1 << 20, c.maxTreeSize());
        assertNull(c.tokenizerPath());
        assertEquals(false, c.cacheAware());
    }

    @Test
    void flagsAndTheModelPathAlias() {
        String tiny = TestModels.tiny().toString();
        GatewayConfig c = parse("--prefill-policy", "cache_aware", "--tokenizer-path", tiny, "--cache-threshold", "0.3",
                "--balance-abs-threshold", "8", "--balance-rel-threshold", "1.25", "--max-tree-size", "4096");
        assertEquals("cache_aware", c.prefillPolicy());
        assertEquals("random", c.decodePolicy());
        assertEquals(true, c.cacheAware());
        assertEquals(0.3, c.cacheThreshold(), "parsed as a double, not through a float");
        assertEquals(8, c.balanceAbsThreshold());
        assertEquals(1.25, c.balanceRelThreshold());
        assertEquals(4096, c.maxTreeSize());
        assertEquals(Path.of(tiny), c.tokenizerPath());
        assertEquals(Path.of(tiny), parse("--policy", "cache_aware", "--model-path", tiny).tokenizerPath());
    }

    @Test
    void badValuesNameTheirFlag() {
        String tiny = TestModels.tiny().toString();
        assertEquals("missing --tokenizer-path (tokenizer_path): the cache_aware policy tokenizes prompts as the "
                + "workers do, so it needs the model directory with tokenizer.json", error("--policy", "cache_aware"));
        assertEquals("missing --tokenizer-path (tokenizer_path): the cache_aware policy tokenizes prompts as the "
                + "workers do, so it needs the model directory with tokenizer.json",
                error("--decode-policy", "cache_aware"));
        assertEquals("invalid --tokenizer-path: /nonexistent (expected a model directory with tokenizer.json)",
                error("--tokenizer-path", "/nonexistent"));
        assertEquals("invalid --cache-threshold: 1.5 (expected in [0, 1])",
                error("--policy", "cache_aware", "--tokenizer-path", tiny, "--cache-threshold", "1.5"));
        assertEquals("invalid --cache-threshold: x (expected a number)", error("--cache-threshold", "x"));
        assertEquals("invalid --balance-abs-threshold: -1 (expected >= 0 requests)",
                error("--balance-abs-threshold", "-1"));
        assertEquals("invalid --balance-rel-threshold: 0.5 (expected >= 1)", error("--balance-rel-threshold", "0.5"));
        assertEquals("invalid --max-tree-size: 0 (expected >= 1 blocks)", error("--max-tree-size", "0"));
        assertEquals("invalid --policy: cache (expected one of random, round_robin, power_of_two, cache_aware)",
                error("--policy", "cache"));
    }

    @Test
    void theJsonKeysAndTheShippedConfLoad() throws Exception {
        String tiny = TestModels.tiny().toString();
        GatewayConfig c = GatewayConfig.from(Map.of("policy", "cache_aware", "tokenizer_path", tiny,
                "cache_threshold", 0.5, "balance_abs_threshold", 32, "balance_rel_threshold", 2, "max_tree_size", 1000),
                Args.parse(new String[0], Set.of()));
        assertEquals(List.of("cache_aware", "cache_aware", "0.5", "32", "2.0", "1000", tiny),
                List.of(c.prefillPolicy(), c.decodePolicy(), String.valueOf(c.cacheThreshold()),
                        String.valueOf(c.balanceAbsThreshold()), String.valueOf(c.balanceRelThreshold()),
                        String.valueOf(c.maxTreeSize()), c.tokenizerPath().toString()));
        Map<String, Object> conf = new ObjectMapper().readValue(Path.of("conf/gateway.json").toFile(),
                new TypeReference<Map<String, Object>>() { });
        GatewayConfig shipped = GatewayConfig.from(conf, Args.parse(new String[0], Set.of()));
        assertEquals(new ArrayList<>(List.of(0.3, 64L, 1.5, 1 << 20)), new ArrayList<>(List.of(
                shipped.cacheThreshold(), shipped.balanceAbsThreshold(), shipped.balanceRelThreshold(),
                shipped.maxTreeSize())));
    }
}
