package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.tokenizer.TextTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client with 20 stop strings of 100 000 characters shares the scheduler with another client, driven step by step
 * on the tiny model: the other client's tokens come one per step exactly as when it runs alone, the hostile request's
 * own output is unchanged (its text held back while it could still grow into a stop string), and the stop-string
 * work per step stays within a constant times the characters decoded, never the stop strings' length.
 */
class LongStopStringsSchedulerTest {
    private static TinyEngine engine;
    private static Model model;
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        engine = new TinyEngine();
        model = engine.model;
        tokenizer = engine.tokenizer;
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    /** Everything one request's sink heard. */
    private static final class Heard {
        final List<RequestOutput> outputs = new ArrayList<>();

        List<Integer> ids() {
            List<Integer> l = new ArrayList<>();
            outputs.forEach(o -> {
                for (int id : o.newIds()) {
                    l.add(id);
                }
            });
            return l;
        }

        String text() {
            StringBuilder b = new StringBuilder();
            outputs.forEach(o -> b.append(o.textDelta()));
            return b.toString();
        }

        boolean finished() {
            return !outputs.isEmpty() && outputs.getLast().finished();
        }
    }

    private static SamplingParams greedy(int max) {
        return new SamplingParams(max, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), true, 0);
    }

    private static SchedulerRequest request(String rid, int[] prompt, int max, List<String> stop, Heard heard) {
        return new SchedulerRequest(rid, prompt, greedy(max), false, -1, 0, stop, heard.outputs::add, null);
    }

    private static final int[] HOSTILE_PROMPT = {508, 72, 101, 108, 108, 111};
    private static final int[] OTHER_PROMPT = {508, 84, 104, 101, 32, 109, 111, 100};

    @Test
    void anotherClientsTokensComeOnePerStepAndStopWorkStaysLinear() {
        try (PagedKvCache kv = model.newKvCache(16, 4096, 4, 2048)) {
            // Alone: the other client's steps and tokens, and the hostile prompt's output text.
            ColocatedScheduler alone = new ColocatedScheduler(model.transformer(), kv, tokenizer,
                    model.config().eosTokenIds(), new SchedulerConfig(4, 4096, 256, 2048, 16, false),
                    SchedulerObserver.NONE);
            Heard otherAlone = new Heard();
            alone.submit(request("other", OTHER_PROMPT, 100, List.of(), otherAlone));
            int stepsAlone = 0;
            while (alone.hasWork()) {
                alone.step();
                stepsAlone++;
            }
            Heard plain = new Heard();
            alone.submit(request("plain", HOSTILE_PROMPT, 160, List.of(), plain));
            while (alone.hasWork()) {
                alone.step();
            }
            String t = plain.text();
            // Characters decoded after k tokens (the plain run releases everything it decodes at once).
            int[] decodedAfter = new int[161];
            int ids = 0;
            int chars = 0;
            for (RequestOutput o : plain.outputs) {
                ids += o.newIds().length;
                chars += o.textDelta().length();
                decodedAfter[ids] = chars;
            }
            assertTrue(t.length() > 40, "the hostile prompt's output must be long enough: " + t.length());
            assertEquals(100, otherAlone.ids().size());

            // 20 stop strings of 100 000 characters: ten that the output keeps growing into (the output's own
            // prefixes, padded with a character it never contains) and ten it never starts.
            List<String> stops = new ArrayList<>();
            for (int j = 0; j < 10; j++) {
                String prefix = t.substring(0, t.length() - 1 - j);
                stops.add(prefix + "\u2603".repeat(100_000 - prefix.length()));
                stops.add("\u2603".repeat(100_000));
            }
            ColocatedScheduler s = new ColocatedScheduler(model.transformer(), kv, tokenizer,
                    model.config().eosTokenIds(), new SchedulerConfig(4, 4096, 256, 2048, 16, false),
                    SchedulerObserver.NONE);
            Heard hostile = new Heard();
            Heard other = new Heard();
            s.submit(request("hostile", HOSTILE_PROMPT, 160, stops, hostile));
            s.submit(request("other", OTHER_PROMPT, 100, List.of(), other));
            int steps = 0;
            int otherSteps = 0;
            while (s.hasWork()) {
                int before = other.ids().size();
                s.step();
                steps++;
                int got = other.ids().size() - before;
                if (!other.finished() || got > 0) {
                    assertEquals(1, got, "step " + steps + ": the other client must get exactly one token");
                    otherSteps = steps;
                }
                int decoded = decodedAfter[hostile.ids().size()];
                assertTrue(s.stopMatchWork() <= 2L * stops.size() * decoded, "step " + steps + ": "
                        + s.stopMatchWork() + " characters examined for " + decoded + " decoded");
            }
            assertEquals(stepsAlone, otherSteps, "the other client needs as many steps as alone");
            assertEquals(otherAlone.ids(), other.ids());
            assertEquals(plain.ids(), hostile.ids(), "stop strings that never match leave the output unchanged");
            assertEquals(t, hostile.text());
            assertEquals("length", hostile.outputs.getLast().finish().type());
            // Until the end, the text could still grow into a stop string: nothing of it was released earlier.
            for (RequestOutput o : hostile.outputs.subList(0, hostile.outputs.size() - 1)) {
                assertEquals("", o.textDelta());
            }
            // Every character decoded before the last token is scanned (the decoder's flush at the end is not text
            // a stop string is matched on, as before).
            assertTrue(s.stopMatchWork() >= stops.size() * (long) decodedAfter[159], "every character is scanned");
            assertEquals(0, kv.allocator().usedPages());
        }
    }
}
