package dev.tandem.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SseParserTest {
    private static final long MS = 1_000_000L;

    /** A hand-written SGLang stream: one token, a 3-token event, one token with finish_reason, then [DONE]. */
    private static final String STREAM = """
            data: {"text":"a","output_ids":[11],"meta_info":{"id":"r1","finish_reason":null,"prompt_tokens":4,"completion_tokens":1}}

            data: {"text":"abcd","output_ids":[12,13,14],"meta_info":{"id":"r1","finish_reason":null,"prompt_tokens":4,"completion_tokens":4}}

            : keep-alive comment
            data: {"text":"abcde","output_ids":[15],"meta_info":{"id":"r1","finish_reason":{"type":"length","length":5},"prompt_tokens":4,"completion_tokens":5,"cached_tokens":2}}

            data: [DONE]

            """;

    @Test
    void parsesEachKindOfLine() {
        List<SseEvent> events = new ArrayList<>();
        STREAM.lines().map(SseParser::parse).forEach(e -> {
            if (e != null) {
                events.add(e);
            }
        });
        assertEquals(List.of(new SseEvent.Data(new int[] {11}, 1, 4, false),
                new SseEvent.Data(new int[] {12, 13, 14}, 4, 4, false), new SseEvent.Data(new int[] {15}, 5, 4, true, 2),
                new SseEvent.Done()), events);
        assertNull(SseParser.parse(""));
        assertNull(SseParser.parse(": ping"));
        assertNull(SseParser.parse("event: message"));
        assertEquals(new SseEvent.Done(), SseParser.parse("data:[DONE]"));
        assertEquals(new SseEvent.Data(new int[] {1, 2}, -1, -1, false),
                SseParser.parse("data: {\"output_ids\":[1,2]}"));
    }

    @Test
    void errorEventsAndMalformedJson() {
        assertEquals(new SseEvent.Error("KV cache is full"),
                SseParser.parse("data: {\"error\": {\"message\": \"KV cache is full\", \"code\": 503}}"));
        assertEquals(new SseEvent.Error("plain"), SseParser.parse("data: {\"error\": \"plain\"}"));
        SseEvent bad = SseParser.parse("data: {\"text\": ");
        assertInstanceOf(SseEvent.Error.class, bad);
        assertTrue(((SseEvent.Error) bad).message().startsWith("malformed event"));
    }

    @Test
    void recorderTimesTheHandWrittenStream() {
        // Send at t=0; events at 50 ms (1 token), 80 ms (3 tokens), 90 ms (1 token); [DONE] at 95 ms.
        long[] at = {50 * MS, 80 * MS, 90 * MS, 95 * MS};
        RequestRecorder rec = new RequestRecorder(0);
        int k = 0;
        for (String line : STREAM.lines().toList()) {
            SseEvent e = SseParser.parse(line);
            if (e != null) {
                rec.onEvent(e, at[k++]);
            }
        }
        assertTrue(rec.isFinished());
        RequestResult r = rec.result();
        assertTrue(r.success(), r.error());
        assertEquals(50.0, r.ttftMs(), 1e-9);
        assertEquals(95.0, r.e2eMs(), 1e-9);
        assertArrayEquals(new double[] {10, 10, 10, 10}, r.itlMs(), 1e-9); // 30 ms over 3 tokens, then 10 ms
        assertEquals(5, r.outputTokens());
        assertArrayEquals(new int[] {11, 12, 13, 14, 15}, r.outputIds());
    }

    @Test
    void cumulativeOutputIdsAreCountedByCompletionTokens() {
        RequestRecorder rec = new RequestRecorder(0);
        // Stock SGLang without incremental streaming resends all ids; completion_tokens keeps the count right.
        rec.onEvent(SseParser.parse("data: {\"output_ids\":[1,2],\"meta_info\":{\"completion_tokens\":2}}"), 10 * MS);
        rec.onEvent(SseParser.parse("data: {\"output_ids\":[1,2,3],\"meta_info\":{\"completion_tokens\":3}}"), 14 * MS);
        rec.onEvent(new SseEvent.Done(), 15 * MS);
        RequestResult r = rec.result();
        assertEquals(3, r.outputTokens());
        assertArrayEquals(new int[] {1, 2, 3}, r.outputIds(), "the new tail of each resent list");
        assertArrayEquals(new double[] {4}, r.itlMs(), 1e-9); // the 2nd token rode with the 1st: no sample
    }

    @Test
    void errorEventFailsTheRequestAndTheFirstErrorWins() {
        RequestRecorder rec = new RequestRecorder(0);
        rec.onEvent(SseParser.parse("data: {\"output_ids\":[7],\"meta_info\":{\"completion_tokens\":1}}"), MS);
        rec.onEvent(SseParser.parse("data: {\"error\":{\"message\":\"out of memory\"}}"), 2 * MS);
        rec.onEvent(new SseEvent.Done(), 3 * MS);
        rec.fail("later");
        RequestResult r = rec.result();
        assertFalse(r.success());
        assertEquals("out of memory", r.error());

        RequestRecorder cut = new RequestRecorder(0);
        cut.onEvent(SseParser.parse("data: {\"output_ids\":[7]}"), MS);
        cut.endOfStream();
        assertEquals("stream ended before data: [DONE]", cut.result().error());

        RequestRecorder done = new RequestRecorder(0);
        done.onEvent(SseParser.parse("data: {\"output_ids\":[7]}"), MS);
        done.onEvent(SseParser.parse("data: [DONE]"), 2 * MS);
        done.endOfStream();
        done.fail("timed out");
        assertTrue(done.result().success());
        assertEquals(1, done.result().outputTokens(), "falls back to the ids counted");
    }
}
