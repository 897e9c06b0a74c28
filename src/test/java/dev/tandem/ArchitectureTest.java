package dev.tandem;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pure core imports nothing from Vert.x; every package says what it owns. */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src/main/java/dev/tandem");
    private static final List<String> PURE = List.of("engine", "tokenizer", "kvcache", "scheduler", "transfer",
            "kvevents", "gateway/policy", "config", "modelgen", "api", "bench");

    @Test
    void pureLayersDoNotImportVertx() throws IOException {
        List<String> offenders = new ArrayList<>();
        int checked = 0;
        for (String pkg : PURE) {
            Path dir = MAIN.resolve(pkg);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    checked++;
                    for (String line : Files.readAllLines(f)) {
                        if (line.startsWith("import io.vertx") || line.startsWith("import static io.vertx")) {
                            offenders.add(MAIN.relativize(f) + ": " + line);
                        }
                    }
                }
            }
        }
        assertTrue(checked > 20, "checked " + checked + " files");
        assertEquals(List.of(), offenders);
    }

    @Test
    void everyPackageHasPackageInfo() throws IOException {
        List<String> missing = new ArrayList<>();
        try (Stream<Path> dirs = Files.walk(MAIN)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                boolean hasJava;
                try (Stream<Path> files = Files.list(d)) {
                    hasJava = files.anyMatch(p -> p.toString().endsWith(".java"));
                }
                if (hasJava && !Files.exists(d.resolve("package-info.java"))) {
                    missing.add(MAIN.relativize(d).toString());
                }
            }
        }
        assertEquals(List.of(), missing);
    }
}
