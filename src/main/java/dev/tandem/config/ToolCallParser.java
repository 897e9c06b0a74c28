package dev.tandem.config;

import java.util.Arrays;

/**
 * SGLang's {@code --tool-call-parser}: how a model family writes tool calls in its output. {@code llama3}: a JSON
 * object {@code {"name": ..., "parameters": {...}}} (optionally after {@code <|python_tag|>}, several separated by
 * {@code ;}); {@code qwen25}: {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>} blocks.
 */
public enum ToolCallParser {
    LLAMA3("llama3"), QWEN25("qwen25");

    private final String flagValue;

    ToolCallParser(String flagValue) {
        this.flagValue = flagValue;
    }

    public String flagValue() {
        return flagValue;
    }

    /** The parser named {@code value} (SGLang's names; {@code qwen} is taken for {@code qwen25}), or null for none. */
    public static ToolCallParser parse(String value) {
        if (value == null) {
            return null;
        }
        if (value.equals("qwen")) {
            return QWEN25;
        }
        return Arrays.stream(values()).filter(p -> p.flagValue.equals(value)).findFirst()
                .orElseThrow(() -> new ConfigException("tool_call_parser", value, "one of llama3, qwen25 (SGLang's "
                        + "other parsers are not supported by Tandem)"));
    }
}
