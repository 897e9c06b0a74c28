package dev.tandem.config;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code --backend} / {@code backend}: parsed once into {@link ComputeBackendKind}, defaulted, refused by name. */
class ComputeBackendConfigTest {

    private static WorkerConfig worker(Map<String, Object> json, String... argv) {
        return WorkerConfig.from(json, Args.parse(argv, Set.of()));
    }

    @Test
    void defaultsToVectorAndTakesScalarFromTheFlagOrTheConfig() {
        assertEquals(ComputeBackendKind.VECTOR, worker(Map.of(), "--model", "src").engine().backend());
        assertEquals(ComputeBackendKind.SCALAR, worker(Map.of(), "--model", "src", "--backend", "scalar").engine()
                .backend());
        assertEquals(ComputeBackendKind.SCALAR, worker(Map.of("backend", "scalar"), "--model", "src").engine()
                .backend());
        assertEquals(ComputeBackendKind.SCALAR, Args.parse(new String[] {"--backend", "scalar"}, Set.of()).engine(0)
                .backend());
        assertEquals(ComputeBackendKind.VECTOR, Args.parse(new String[] {}, Set.of()).engine(0).backend());
        assertEquals("vector", ComputeBackendKind.VECTOR.label());
        assertEquals("scalar", ComputeBackendKind.SCALAR.label());
    }

    @Test
    void anUnknownBackendIsRefusedNamingTheFieldAndTheValue() {
        assertEquals("invalid backend: gpu (expected one of vector, scalar)", assertThrows(ConfigException.class,
                () -> worker(Map.of(), "--model", "src", "--backend", "gpu")).getMessage());
        assertEquals("invalid backend: auto (expected one of vector, scalar)", assertThrows(ConfigException.class,
                () -> worker(Map.of("backend", "auto"), "--model", "src")).getMessage());
        assertEquals("invalid backend: gpu (expected one of vector, scalar)", assertThrows(ConfigException.class,
                () -> Args.parse(new String[] {"--backend", "gpu"}, Set.of()).engine(0)).getMessage());
        assertEquals("invalid backend: Vector (expected one of vector, scalar)", assertThrows(ConfigException.class,
                () -> worker(Map.of(), "--model", "src", "--backend", "Vector")).getMessage());
    }
}
