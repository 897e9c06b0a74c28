package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What one request may ask for, refused while parsing with a 400 that names the field. */
class RequestLimitsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RequestLimits SMALL = new RequestLimits(8, 3, 10);

    private static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static ApiException refused(Runnable r) {
        return assertThrows(ApiException.class, r::run);
    }

    @Test
    void batchTimesNIsBounded() {
        assertEquals(8, GenerateRequestParser.parse(json("""
                {"text": ["a", "b"], "sampling_params": {"n": 4}}"""), SMALL).items().size());
        ApiException e = refused(() -> GenerateRequestParser.parse(json("""
                {"text": ["a", "b", "c"], "sampling_params": {"n": 3}}"""), SMALL));
        assertEquals(400, e.status());
        assertEquals("sampling_params.n", e.param());
        assertEquals("Invalid sampling_params.n: the request expands to 9 items (batch size × n), more than "
                + "max_batch_items = 8", e.getMessage());
        e = refused(() -> GenerateRequestParser.parse(json("""
                {"text": ["a", "b"], "sampling_params": [{"n": 1}, {"n": 8}]}"""), SMALL));
        assertEquals("sampling_params[].n", e.param());
        e = refused(() -> GenerateRequestParser.parse(json("{\"input_ids\": [" + "[1],".repeat(8) + "[1]]}"), SMALL));
        assertEquals("input_ids", e.param());
        e = refused(() -> GenerateRequestParser.parse(json("{\"text\": " + List.of("a", "b", "c", "d", "e", "f",
                "g", "h", "i").stream().map(x -> "\"" + x + "\"").toList() + "}"), SMALL));
        assertEquals("text", e.param());
        e = refused(() -> OpenAiRequest.completions(json("{\"prompt\": [\"a\", \"b\", \"c\"], \"n\": 3}"), SMALL));
        assertEquals("n", e.param());
        e = refused(() -> OpenAiRequest.completions(json("{\"prompt\": [" + "\"a\",".repeat(8) + "\"a\"]}"), SMALL));
        assertEquals("prompt", e.param());
        assertEquals(6, OpenAiRequest.completions(json("{\"prompt\": [\"a\", \"b\"], \"n\": 3}"), SMALL).items()
                .size());
    }

    @Test
    void stopStringsAreBoundedInCountAndLength() {
        assertEquals(List.of("ab", "cd", "0123456789"), GenerateRequestParser.parse(json("""
                {"text": "x", "sampling_params": {"stop": ["ab", "cd", "0123456789"]}}"""), SMALL)
                .items().get(0).stop());
        ApiException e = refused(() -> GenerateRequestParser.parse(json("""
                {"text": "x", "sampling_params": {"stop": ["a", "b", "c", "d"]}}"""), SMALL));
        assertEquals("sampling_params.stop", e.param());
        assertEquals("Invalid sampling_params.stop: 4 stop strings, more than max_stop_strings = 3", e.getMessage());
        e = refused(() -> GenerateRequestParser.parse(json("""
                {"text": "x", "sampling_params": {"stop": ["a", "01234567890"]}}"""), SMALL));
        assertEquals("Invalid sampling_params.stop[1]: a stop string of 11 characters, longer than "
                + "max_stop_length = 10", e.getMessage());
        e = refused(() -> GenerateRequestParser.parse(json("""
                {"text": "x", "sampling_params": {"stop": "01234567890"}}"""), SMALL));
        assertEquals("sampling_params.stop", e.param());
        // Ten characters outside the BMP are 20 UTF-16 units but ten characters: allowed.
        assertEquals(1, GenerateRequestParser.parse(json("{\"text\": \"x\", \"sampling_params\": {\"stop\": \""
                + "\uD83D\uDE00".repeat(10) + "\"}}"), SMALL).items().get(0).stop().size());
        e = refused(() -> OpenAiRequest.completions(json("{\"prompt\": \"a\", \"stop\": [\"a\", \"b\", \"c\", \"d\"]}"),
                SMALL));
        assertEquals("stop", e.param());
        e = refused(() -> OpenAiRequest.completions(json("{\"prompt\": \"a\", \"stop\": \"" + "x".repeat(11)
                + "\"}"), SMALL));
        assertEquals("Invalid stop: a stop string of 11 characters, longer than max_stop_length = 10", e.getMessage());
        e = refused(() -> GenerateRequestParser.parse(json("{\"text\": \"x\", \"sampling_params\": "
                + "{\"stop_token_ids\": " + java.util.stream.IntStream.range(0, 1025).boxed().toList() + "}}"), SMALL));
        assertEquals("sampling_params.stop_token_ids", e.param());
        e = refused(() -> GenerateRequestParser.parse(json("{\"text\": \"x\", \"sampling_params\": "
                + "{\"stop_token_ids\": 4294967297}}"), SMALL));
        assertEquals(400, e.status());
    }

    @Test
    void portsAndRoomsAreStrict() {
        String ok = "{\"text\": \"x\", \"bootstrap_host\": \"h\", \"bootstrap_port\": %s, \"bootstrap_room\": %s%s}";
        assertEquals(65535, GenerateRequestParser.parse(json(ok.formatted("65535", "9223372036854775807", "")))
                .items().get(0).bootstrap().port());
        for (String port : List.of("0", "65536", "-1", "4294967297", "8998.5", "\"8998\"")) {
            ApiException e = refused(() -> GenerateRequestParser.parse(json(ok.formatted(port, "1", ""))));
            assertEquals("bootstrap_port", e.param(), port);
        }
        for (String room : List.of("-1", "9223372036854775808", "1.5", "\"7\"")) {
            ApiException e = refused(() -> GenerateRequestParser.parse(json(ok.formatted("8998", room, ""))));
            assertEquals("bootstrap_room", e.param(), room);
        }
        // n copies take consecutive rooms: the last must still be a valid room.
        ApiException e = refused(() -> GenerateRequestParser.parse(json(ok.formatted("8998", "9223372036854775807",
                ", \"sampling_params\": {\"n\": 2}"))));
        assertEquals("bootstrap_room", e.param());
        assertEquals(9223372036854775807L, GenerateRequestParser.parse(json(ok.formatted("8998",
                "9223372036854775806", ", \"sampling_params\": {\"n\": 2}"))).items().get(1).bootstrap().room());
    }

    @Test
    void derivedItemsCarryTheRidTheClientNamed() {
        var items = GenerateRequestParser.parse(json("{\"text\": \"x\", \"rid\": \"a\", \"sampling_params\": "
                + "{\"n\": 2}}")).items();
        assertEquals(List.of("a-0", "a-1"), items.stream().map(GenerateInput::rid).toList());
        assertEquals(List.of("a", "a"), items.stream().map(GenerateInput::group).toList());
        items = GenerateRequestParser.parse(json("{\"text\": [\"x\", \"y\"], \"rid\": [\"p\", \"q\"]}")).items();
        assertEquals(List.of("p", "q"), items.stream().map(GenerateInput::group).toList());
        items = OpenAiRequest.completions(json("{\"prompt\": [\"x\", \"y\"], \"rid\": \"c\", \"n\": 2}")).items();
        assertEquals(List.of("c-0-0", "c-0-1", "c-1-0", "c-1-1"), items.stream().map(GenerateInput::rid).toList());
        assertTrue(items.stream().allMatch(i -> i.group().equals("c")));
        assertEquals("rid", refused(() -> OpenAiRequest.completions(json("{\"prompt\": \"x\", \"rid\": \"\"}")))
                .param());
    }

    @Test
    void errorsNeverEchoAHugeValue() {
        String huge = "z".repeat(100_000);
        ApiException e = refused(() -> GenerateRequestParser.parse(json("{\"text\": \"x\", \"sampling_params\": "
                + "{\"stop\": {\"k\": \"" + huge + "\"}}}")));
        assertTrue(e.getMessage().length() < 400, e.getMessage().length() + " characters");
        assertTrue(e.getMessage().contains("(100008 characters)") || e.getMessage().contains("characters)"));
    }
}
