package dev.tandem.api;

import dev.tandem.config.ToolCallParser;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tool calls streamed as they are generated: text fed a few characters at a time gives content, call starts and
 * argument fragments that, put together as a client does, equal what the whole-text parser finds.
 */
class ToolCallStreamTest {
    private static final Set<String> FNS = Set.of("get_weather", "add");

    /** What a client assembles from the deltas, and in how many pieces the arguments came. */
    private record Assembled(String content, List<String> names, List<String> args, List<Integer> pieces,
                             int deltasBeforeEnd) {
    }

    private static Assembled feed(ToolCallParser parser, String text, int step) {
        ToolCallStream s = new ToolCallStream(parser, FNS);
        StringBuilder content = new StringBuilder();
        List<String> names = new ArrayList<>();
        List<StringBuilder> args = new ArrayList<>();
        List<Integer> pieces = new ArrayList<>();
        int before = 0;
        for (int end = Math.min(step, text.length()); ; end = Math.min(end + step, text.length())) {
            boolean finished = end >= text.length();
            ToolCallStream.Delta d = s.next(text.substring(0, end), finished);
            content.append(d.content());
            for (ToolCallStream.CallDelta c : d.calls()) {
                if (c.id() != null) {
                    assertEquals(names.size(), c.index(), "a call starts with the next index");
                    assertTrue(c.id().startsWith("call_"));
                    assertNotNull(c.name());
                    assertEquals("", c.arguments(), "the first delta has empty arguments");
                    names.add(c.name());
                    args.add(new StringBuilder());
                    pieces.add(0);
                } else {
                    assertNull(c.name());
                    args.get(c.index()).append(c.arguments());
                    pieces.set(c.index(), pieces.get(c.index()) + 1);
                }
                before += finished ? 0 : 1;
            }
            if (finished) {
                break;
            }
        }
        return new Assembled(content.toString(), names, args.stream().map(StringBuilder::toString).toList(), pieces,
                before);
    }

    private static void sameAsWholeText(ToolCallParser parser, String text) {
        ToolCallParsing.Result whole = ToolCallParsing.parse(parser, text, FNS);
        for (int step : new int[] {1, 2, 3, 7, 1000}) {
            Assembled a = feed(parser, text, step);
            assertEquals(whole.calls().stream().map(ToolCallParsing.Call::name).toList(), a.names(), text);
            for (int k = 0; k < a.args().size(); k++) {
                assertEquals(whole.calls().get(k).arguments(), a.args().get(k).replace(" ", ""), text);
            }
            assertEquals(whole.content(), a.content(), "step " + step + ": " + text);
            if (step < 3 && !a.names().isEmpty()) {
                assertTrue(a.pieces().getFirst() > 3, "arguments come in pieces, not at the end: " + a);
                assertTrue(a.deltasBeforeEnd() > 3, "calls are sent before the choice ends: " + a);
            }
        }
    }

    @Test
    void qwen25CallsStreamWithTextBeforeThem() {
        sameAsWholeText(ToolCallParser.QWEN25, "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
                + " {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>{\"name\":\"add\","
                + "\"arguments\":{\"a\":1,\"b\":[2,{\"c\":\"}\"}]}}</tool_call>");
        sameAsWholeText(ToolCallParser.QWEN25, "<tool_call>\n{\"name\":\"add\",\"arguments\":{\"a\":1,\"b\":2}}\n"
                + "</tool_call>");
        sameAsWholeText(ToolCallParser.QWEN25, "no call here, just < and <tool at the end <tool_");
        // An unknown function is content, as the whole-text parser says.
        sameAsWholeText(ToolCallParser.QWEN25, "<tool_call>{\"name\":\"rm\",\"arguments\":{}}</tool_call>");
    }

    @Test
    void llama3CallsStream() {
        sameAsWholeText(ToolCallParser.LLAMA3, "<|python_tag|>{\"name\": \"add\", \"parameters\": {\"a\": 1,"
                + " \"b\": 22}}; {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}");
        sameAsWholeText(ToolCallParser.LLAMA3, "{\"name\":\"get_weather\",\"parameters\":{\"city\":\"Rome\","
                + "\"unit\":\"fahrenheit\"}}");
        sameAsWholeText(ToolCallParser.LLAMA3, "The answer is {1} and more text");
        sameAsWholeText(ToolCallParser.LLAMA3, "{\"answer\": 42}");
    }
}
