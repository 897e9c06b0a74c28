package dev.tandem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TestModels;
import dev.tandem.config.ConfigException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerateCommandTest {

    private static String run(String... argv) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, GenerateCommand.run(argv));
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void jsonOutputCarriesIdsAndTextAndMatchesTheStreamedText() throws Exception {
        String model = TestModels.tiny().toString();
        JsonNode j = new ObjectMapper().readTree(run("--model", model, "--input-ids", "508,72,101,108",
                "--max-new-tokens", "10", "--ignore-eos", "--json"));
        assertEquals("[508,72,101,108]", j.get("input_ids").toString());
        assertEquals(10, j.get("output_ids").size());
        String streamed = run("--model", model, "--input-ids", "508,72,101,108", "--max-new-tokens", "10",
                "--ignore-eos");
        assertEquals(j.get("text").asText() + System.lineSeparator(), streamed);
        // Greedy is deterministic across backends too.
        JsonNode s = new ObjectMapper().readTree(run("--model", model, "--input-ids", "508,72,101,108",
                "--max-new-tokens", "10", "--ignore-eos", "--json", "--backend", "scalar"));
        assertEquals(j.get("output_ids"), s.get("output_ids"));
    }

    @Test
    void promptTextIsTokenizedWithBos() throws Exception {
        JsonNode j = new ObjectMapper().readTree(run("--model", TestModels.tiny().toString(), "--prompt",
                "Hello", "--max-new-tokens", "3", "--json"));
        assertEquals(508, j.get("input_ids").get(0).asInt());
        assertTrue(j.get("output_ids").size() >= 1);
    }

    @Test
    void badFlagsAreNamed() {
        String model = TestModels.tiny().toString();
        assertEquals("give exactly one of --prompt TEXT or --input-ids 1,2,3",
                assertThrows(ConfigException.class, () -> GenerateCommand.run(new String[] {"--model", model}))
                        .getMessage());
        assertEquals("unknown flag --max-tokens", assertThrows(ConfigException.class, () -> GenerateCommand.run(
                new String[] {"--model", model, "--prompt", "x", "--max-tokens", "3"})).getMessage());
        assertEquals("invalid --max-new-tokens: lots (expected an integer)", assertThrows(ConfigException.class,
                () -> GenerateCommand.run(new String[] {"--model", model, "--prompt", "x", "--max-new-tokens", "lots"}))
                .getMessage());
        String backend = assertThrows(ConfigException.class, () -> GenerateCommand.run(
                new String[] {"--model", model, "--prompt", "x", "--backend", "gpu"})).getMessage();
        assertTrue(backend.startsWith("invalid backend: gpu (expected one of ") && backend.contains("vector")
                && backend.contains("scalar"), backend);
    }
}
