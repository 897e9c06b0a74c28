package dev.tandem.api;

import dev.tandem.config.ToolCallParser;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ToolCallParsingTest {
    private static final Set<String> FNS = Set.of("get_weather", "add");

    @Test
    void qwen25TagsBecomeCallsAndTheRestStaysContent() {
        var r = ToolCallParsing.parse(ToolCallParser.QWEN25, "Let me check.\n<tool_call>\n{\"name\": \"get_weather\","
                + " \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>{\"name\":\"add\",\"arguments\":"
                + "{\"a\":1,\"b\":2}}</tool_call>", FNS);
        assertEquals("Let me check.", r.content());
        assertEquals(List.of(new ToolCallParsing.Call("get_weather", "{\"city\":\"Paris\"}"),
                new ToolCallParsing.Call("add", "{\"a\":1,\"b\":2}")), r.calls());
        var unknown = ToolCallParsing.parse(ToolCallParser.QWEN25,
                "<tool_call>{\"name\":\"rm\",\"arguments\":{}}</tool_call>", FNS);
        assertEquals(List.of(), unknown.calls());
        assertEquals("<tool_call>{\"name\":\"rm\",\"arguments\":{}}</tool_call>", unknown.content());
        assertEquals(List.of(), ToolCallParsing.parse(ToolCallParser.QWEN25, "<tool_call>{broken", FNS).calls());
    }

    @Test
    void llama3JsonCallsWithOrWithoutThePythonTag() {
        var r = ToolCallParsing.parse(ToolCallParser.LLAMA3,
                "<|python_tag|>{\"name\": \"add\", \"parameters\": {\"a\": 1}}; {\"name\": \"get_weather\","
                        + " \"arguments\": {\"city\": \"Oslo\"}}", FNS);
        assertEquals("", r.content());
        assertEquals(List.of(new ToolCallParsing.Call("add", "{\"a\":1}"),
                new ToolCallParsing.Call("get_weather", "{\"city\":\"Oslo\"}")), r.calls());
        assertEquals(List.of(), ToolCallParsing.parse(ToolCallParser.LLAMA3, "The answer is {1}", FNS).calls());
        assertEquals("{\"name\": \"add\"}", ToolCallParsing.parse(ToolCallParser.LLAMA3, "{\"name\": \"add\"}",
                FNS).content(), "no arguments: not a call");
    }
}
