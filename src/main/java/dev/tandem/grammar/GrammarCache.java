package dev.tandem.grammar;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Compiled constraints of one worker's vocabulary, least recently used dropped past {@code capacity}: requests with
 * the same constraint share the automaton and every token mask computed for it. Thread-safe.
 */
public final class GrammarCache {
    private final Vocabulary vocab;
    private final LinkedHashMap<Key, TokenGrammar> map;
    private long hits;
    private long misses;

    private record Key(GrammarSpec.Kind kind, String source) {
    }

    public GrammarCache(Vocabulary vocab, int capacity) {
        this.vocab = vocab;
        this.map = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, TokenGrammar> e) {
                return size() > capacity;
            }
        };
    }

    /** The compiled form of {@code spec}; throws {@link GrammarException} when it cannot be compiled. */
    public TokenGrammar get(GrammarSpec spec) {
        Key key = new Key(spec.kind(), spec.source());
        synchronized (this) {
            TokenGrammar g = map.get(key);
            if (g != null) {
                hits++;
                return g;
            }
            misses++;
        }
        TokenGrammar g = new TokenGrammar(spec, spec.compile(), vocab); // outside the lock: compiling can take a while
        synchronized (this) {
            TokenGrammar raced = map.putIfAbsent(key, g);
            return raced != null ? raced : g;
        }
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    public synchronized int size() {
        return map.size();
    }

    public synchronized long hits() {
        return hits;
    }

    public synchronized long misses() {
        return misses;
    }
}
