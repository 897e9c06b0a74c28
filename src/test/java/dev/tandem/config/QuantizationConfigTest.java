package dev.tandem.config;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --quantization} / {@code quantization}: parsed once, defaulted, and refused with the field named. */
class QuantizationConfigTest {

    private static WorkerConfig worker(Map<String, Object> json, String... argv) {
        return WorkerConfig.from(json, Args.parse(argv, Set.of()));
    }

    @Test
    void defaultsToNoneAndTakesInt8FromTheFlagOrTheConfig() {
        assertEquals(Quantization.NONE, worker(Map.of(), "--model", "src").engine().quantization());
        assertEquals(Quantization.INT8, worker(Map.of(), "--model", "src", "--quantization", "int8").engine()
                .quantization());
        assertEquals(Quantization.INT8, worker(Map.of("quantization", "int8"), "--model", "src").engine()
                .quantization());
        assertEquals(Quantization.INT8, Args.parse(new String[] {"--quantization", "int8"}, Set.of()).engine(0)
                .quantization());
    }

    @Test
    void hiCachePagesOfInt8WeightsAreKeptApartFromPagesOfTheWeightsAsStored() {
        // the storage keys end in this identity: a worker with int8 weights computes other K/V for the same tokens
        assertEquals("src", worker(Map.of(), "--model", "src").kvIdentity());
        assertEquals("src-wint8", worker(Map.of(), "--model", "src", "--quantization", "int8").kvIdentity());
    }

    @Test
    void anUnknownSchemeOrTheScalarBackendIsRefusedNamingTheField() {
        ConfigException bad = assertThrows(ConfigException.class,
                () -> worker(Map.of(), "--model", "src", "--quantization", "int4"));
        assertTrue(bad.getMessage().contains("quantization") && bad.getMessage().contains("int4"), bad.getMessage());
        ConfigException scalar = assertThrows(ConfigException.class,
                () -> worker(Map.of(), "--model", "src", "--quantization", "int8", "--backend", "scalar"));
        assertTrue(scalar.getMessage().contains("quantization") && scalar.getMessage().contains("vector"),
                scalar.getMessage());
    }
}
