package dev.tandem.scheduler;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The incremental stop-string scan against the plain rescanning rules it replaced (kept here as the oracle), and the
 * bound on its work that keeps one client's stop strings from stalling the scheduler thread.
 */
class StopStringsTest {

    /** The rules TokenProcessor used before: rescan the tail with indexOf, test every suffix for the hold-back. */
    private static final class Oracle {
        final List<String> stops;

        Oracle(List<String> stops) {
            this.stops = stops;
        }

        /** {index, start} of the earliest-starting match ending at or after newFrom, or null. */
        int[] match(CharSequence text, int newFrom) {
            int best = -1;
            int index = -1;
            for (int p = 0; p < stops.size(); p++) {
                String stop = stops.get(p);
                int from = Math.max(0, newFrom - stop.length() + 1);
                int at = text.toString().indexOf(stop, from);
                if (at >= 0 && (best < 0 || at < best)) {
                    best = at;
                    index = p;
                }
            }
            return index < 0 ? null : new int[] {index, best};
        }

        int holdBack(CharSequence text) {
            String t = text.toString();
            int hold = 0;
            for (String stop : stops) {
                for (int k = Math.min(stop.length() - 1, t.length()); k > hold; k--) {
                    if (stop.startsWith(t.substring(t.length() - k))) {
                        hold = k;
                        break;
                    }
                }
            }
            return hold;
        }
    }

    private static String random(SplittableRandom r, String alphabet, int len) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < len; i++) {
            b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    @Test
    void matchesAndHoldBackEqualTheRescanningRulesOnRandomTexts() {
        SplittableRandom r = new SplittableRandom(20250611);
        int matches = 0;
        for (int trial = 0; trial < 3000; trial++) {
            String alphabet = trial % 3 == 0 ? "ab" : trial % 3 == 1 ? "abc" : "aab\u00e9";
            List<String> stops = new ArrayList<>();
            for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
                stops.add(random(r, alphabet, 1 + r.nextInt(6)));
            }
            int reportFrom = r.nextInt(4); // chunks before this one are scanned without reporting (min_new_tokens)
            Oracle oracle = new Oracle(stops);
            StopStrings.Scan scan = StopStrings.of(stops).scan();
            StringBuilder text = new StringBuilder();
            for (int chunk = 0; chunk < 12; chunk++) {
                int from = text.length();
                text.append(random(r, alphabet, r.nextInt(4)));
                boolean report = chunk >= reportFrom;
                int got = scan.feed(text, from, report);
                int[] want = report ? oracle.match(text, from) : null;
                String where = stops + " on \"" + text + "\" from " + from;
                if (want == null) {
                    assertEquals(-1, got, where);
                } else {
                    assertEquals(want[0], got, where);
                    assertEquals(want[1], scan.matchStart(), where);
                    matches++;
                    break; // the request ends at its first stop string
                }
                assertEquals(oracle.holdBack(text), scan.holdBack(), "hold-back of " + where);
            }
        }
        assertTrue(matches > 1000, "the random texts must exercise matches, got " + matches);
    }

    @Test
    void twentyStopStringsOfAHundredThousandCharactersCostLinearWork() {
        // The worst inputs for a rescan: the output keeps growing into every stop string (so everything is held
        // back), and strings of one repeated character whose partial matches collapse on a mismatch.
        List<String> stops = new ArrayList<>();
        for (int p = 0; p < 20; p++) {
            stops.add(p % 2 == 0 ? "a".repeat(99_999) + "b" : "ab".repeat(49_999) + "a" + (char) ('c' + p));
        }
        StopStrings compiled = StopStrings.of(stops);
        StopStrings.Scan scan = compiled.scan();
        StringBuilder text = new StringBuilder();
        SplittableRandom r = new SplittableRandom(3);
        long fed = 0;
        for (int step = 0; step < 4000; step++) {
            int from = text.length();
            // Mostly what keeps partial matches alive, sometimes a character that breaks them.
            String piece = r.nextInt(50) == 0 ? "x" : (step % 2 == 0 ? "a" : "ab").repeat(1 + r.nextInt(8));
            text.append(piece);
            fed += piece.length();
            assertEquals(-1, scan.feed(text, from, true));
            // KMP: every character advances each string's state at most once, and every fall-back undoes an
            // advance, so the total stays within 2 × strings × characters whatever the strings' lengths.
            assertTrue(scan.examined() <= 2L * stops.size() * fed,
                    "step " + step + ": " + scan.examined() + " characters examined for " + fed + " fed");
            assertTrue(scan.holdBack() <= text.length());
        }
        assertTrue(fed > 10_000);
    }

    @Test
    void emptyStopStringsAreRefusedAndNoStopsMatchNothing() {
        assertThrows(IllegalArgumentException.class, () -> StopStrings.of(List.of("x", "")));
        assertEquals(StopStrings.NONE, StopStrings.of(List.of()));
        StopStrings.Scan scan = StopStrings.NONE.scan();
        assertEquals(-1, scan.feed("anything", 0, true));
        assertEquals(0, scan.holdBack());
    }
}
