package dev.tandem.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SGLang's server flag names start a Tandem worker; a size Tandem cannot run, or an unknown flag, is an error. */
class SglangFlagsTest {
    private static final String M = dev.tandem.TestModels.tiny().toString();

    private static WorkerConfig worker(String... argv) {
        Args a = Args.parse(argv, Set.of());
        WorkerConfig c = WorkerConfig.from(Map.of(), a);
        a.rejectUnknown();
        return c;
    }

    @Test
    void sglangNamesMeanTandemsFlags() {
        WorkerConfig c = worker("--model-path", M, "--disaggregation-mode", "prefill",
                "--disaggregation-bootstrap-port", "9100", "--disaggregation-transfer-backend", "fake",
                "--tp-size", "1", "--tool-call-parser", "qwen25");
        assertEquals(Path.of(M), c.modelPath());
        assertEquals("prefill", c.mode());
        assertEquals(9100, c.pd().bootstrapPort());
        assertEquals("fake", c.pd().transferBackend());
        assertEquals(ToolCallParser.QWEN25, c.toolCallParser());
    }

    @Test
    void whatTandemCannotDoIsAnErrorNamingTheFlag() {
        ConfigException tp = assertThrows(ConfigException.class, () -> worker("--model-path", M, "--tp-size", "2"));
        assertTrue(tp.getMessage().contains("--tp-size") && tp.getMessage().contains("one device"), tp.getMessage());
        ConfigException both = assertThrows(ConfigException.class, () -> worker("--model-path", M, "--model", "/n"));
        assertTrue(both.getMessage().contains("--model-path and --model"), both.getMessage());
        ConfigException unknown = assertThrows(ConfigException.class,
                () -> worker("--model-path", M, "--enable-torch-compile", "true"));
        assertTrue(unknown.getMessage().contains("unknown flag --enable-torch-compile"), unknown.getMessage());
        ConfigException parser = assertThrows(ConfigException.class,
                () -> worker("--model-path", M, "--tool-call-parser", "mistral"));
        assertTrue(parser.getMessage().contains("tool_call_parser"), parser.getMessage());
    }
}
