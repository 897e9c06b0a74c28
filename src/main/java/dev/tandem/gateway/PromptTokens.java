package dev.tandem.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.api.GenerateInput;
import dev.tandem.api.GenerateRequestParser;
import dev.tandem.api.OpenAiRequest;
import dev.tandem.tokenizer.TextTokenizer;

import java.nio.file.Path;

/**
 * The first prompt of a request as token ids, computed exactly as a worker computes them (the same request parsers,
 * the same chat template, {@code encode(text, addSpecialTokens = true)} as the worker's dispatcher), because
 * cache_aware compares them with the block hashes the workers report. Batches: the first item, like sgl-router.
 */
final class PromptTokens implements AutoCloseable {
    private final TextTokenizer tokenizer;

    private PromptTokens(TextTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Loads {@code dir/tokenizer.json} (and its chat template). Blocking. */
    static PromptTokens load(Path dir) {
        return new PromptTokens(TextTokenizer.load(dir));
    }

    /**
     * True when the body carries its first prompt as token ids already: reading them is cheap enough for the event
     * loop. Text and chat messages need the tokenizer (and Jinja), which take milliseconds on long prompts.
     */
    static boolean idsGiven(String path, JsonNode body) {
        return switch (path) {
            case "/generate" -> body.hasNonNull("input_ids") && !body.hasNonNull("text");
            case "/v1/completions" -> {
                JsonNode p = body.path("prompt");
                yield p.isArray() && !p.isEmpty() && (p.get(0).isIntegralNumber() || p.get(0).isArray());
            }
            default -> false;
        };
    }

    /**
     * The first prompt's token ids, or null when the body is one the worker will refuse (the worker then says why;
     * routing just goes on without them). May block for milliseconds unless {@link #idsGiven}.
     */
    int[] firstPrompt(String path, JsonNode body) {
        try {
            GenerateInput first = switch (path) {
                case "/generate" -> GenerateRequestParser.parse(body).items().get(0);
                case "/v1/completions" -> OpenAiRequest.completions(body).items().get(0);
                default -> OpenAiRequest.chat(body, tokenizer.chatTemplate()).items().get(0);
            };
            return first.inputIds() != null ? first.inputIds() : tokenizer.encode(first.text(), true);
        } catch (RuntimeException invalid) {
            return null;
        }
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
