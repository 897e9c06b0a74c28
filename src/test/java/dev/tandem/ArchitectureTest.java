package dev.tandem;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pure core imports nothing from Vert.x; each package uses only the packages ARCHITECTURE.md's layer table
 * allows (imports and fully qualified names alike); every package says what it owns.
 */
class ArchitectureTest {
    /** ARCHITECTURE.md "Layers": package → the Tandem packages it may use (besides itself). */
    static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("config", Set.of("kvevents")),
            Map.entry("engine", Set.of("config", "kvcache")),
            Map.entry("grammar", Set.of("tokenizer")),
            Map.entry("tokenizer", Set.of("config")),
            Map.entry("kvcache", Set.of("engine", "kvevents", "config")),
            Map.entry("scheduler", Set.of("config", "engine", "kvcache", "kvevents", "tokenizer", "transfer", "grammar",
                    "hicache")),
            Map.entry("hicache", Set.of("config", "kvcache", "kvevents")),
            Map.entry("transfer", Set.of("config", "kvcache", "metrics")),
            Map.entry("kvevents", Set.of()),
            Map.entry("api", Set.of("config", "engine", "scheduler", "tokenizer", "transfer", "grammar")),
            Map.entry("bus", Set.of("config", "metrics", "transfer", "kvevents")),
            Map.entry("metrics", Set.of("scheduler", "transfer", "hicache")),
            Map.entry("worker", Set.of("api", "bus", "config", "engine", "grammar", "kvcache", "kvevents", "metrics",
                    "hicache",
                    "scheduler", "tokenizer", "transfer")),
            Map.entry("gateway", Set.of("api", "bus", "config", "gateway.policy", "kvevents", "metrics", "tokenizer")),
            Map.entry("gateway.policy", Set.of("kvevents")),
            Map.entry("bench", Set.of("config")),
            Map.entry("chaos", Set.of("config", "launch")),
            Map.entry("launch", Set.of("config")),
            Map.entry("modelgen", Set.of("engine", "tokenizer")),
            Map.entry("cli", Set.of("api", "bench", "bus", "chaos", "config", "engine", "gateway", "gateway.policy", "grammar",
                    "kvcache", "launch",
                    "kvevents", "metrics", "modelgen", "scheduler", "tokenizer", "transfer", "worker")));
    private static final Pattern USE = Pattern.compile("\\bdev\\.tandem\\.([a-z]+)(\\.policy)?\\b");
    private static final Pattern COMMENTS = Pattern.compile("(?s)/\\*.*?\\*/|//[^\\n]*");
    private static final Path MAIN = Path.of("src/main/java/dev/tandem");
    private static final List<String> PURE = List.of("engine", "tokenizer", "kvcache", "scheduler", "transfer",
            "kvevents", "gateway/policy", "config", "modelgen", "api", "bench", "chaos", "hicache", "grammar",
            "launch");

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
    void packagesUseOnlyWhatTheLayerTableAllows() throws IOException {
        List<String> offenders = new ArrayList<>();
        Set<String> seen = new TreeSet<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Path rel = MAIN.relativize(f);
                if (rel.getNameCount() < 2) {
                    continue; // Main and the root package-info: the launcher may use everything
                }
                String pkg = rel.getName(0).toString();
                if (pkg.equals("gateway") && rel.getNameCount() > 2 && rel.getName(1).toString().equals("policy")) {
                    pkg = "gateway.policy";
                }
                Set<String> allowed = ALLOWED.get(pkg);
                if (allowed == null) {
                    offenders.add(rel + ": package '" + pkg + "' is missing from the layer table");
                    continue;
                }
                seen.add(pkg);
                String code = COMMENTS.matcher(Files.readString(f)).replaceAll("");
                Matcher m = USE.matcher(code);
                while (m.find()) {
                    String used = m.group(1) + (m.group(2) != null && m.group(1).equals("gateway") ? ".policy" : "");
                    if (!used.equals(pkg) && !allowed.contains(used)) {
                        offenders.add(rel + " uses " + used);
                    }
                }
            }
        }
        assertTrue(seen.containsAll(Set.of("worker", "gateway", "bus", "transfer", "scheduler", "engine")), "" + seen);
        assertEquals(List.of(), offenders.stream().distinct().toList());
    }

    /** UCX (jucx) is the nixl backend's business only: nothing else may load it. */
    @Test
    void onlyTheNixlBackendUsesUcx() throws IOException {
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String code = COMMENTS.matcher(Files.readString(f)).replaceAll("");
                if (code.contains("org.openucx") && !MAIN.relativize(f).startsWith(Path.of("transfer", "nixl"))) {
                    offenders.add(MAIN.relativize(f).toString());
                }
            }
        }
        assertEquals(List.of(), offenders);
    }

    /** The rule above must catch what it is for: gateway code naming a worker class. */
    @Test
    void theLayerRuleSeesImportsAndQualifiedNamesButNotComments() {
        Matcher m = USE.matcher(COMMENTS.matcher("""
                import dev.tandem.worker.BusAddresses; // dev.tandem.engine in a comment
                /** {@link dev.tandem.scheduler.X} */ var x = new dev.tandem.gateway.policy.RandomPolicy();
                """).replaceAll(""));
        List<String> found = new ArrayList<>();
        while (m.find()) {
            found.add(m.group(1) + (m.group(2) == null ? "" : m.group(2)));
        }
        assertEquals(List.of("worker", "gateway.policy"), found);
        assertTrue(!ALLOWED.get("gateway").contains("worker"), "the gateway never uses the worker");
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
