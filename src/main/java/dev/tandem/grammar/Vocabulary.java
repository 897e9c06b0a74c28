package dev.tandem.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer's vocabulary as the bytes each token id decodes to, and a byte trie over them so that a mask walks
 * the automaton once per shared prefix rather than once per token. Ids without bytes (special tokens, ids past the
 * tokenizer's end) are never allowed under a constraint; the end-of-sequence ids are allowed exactly where the
 * constraint accepts.
 */
public final class Vocabulary {
    private final int size;
    private final byte[][] bytes;
    private final int[] eos;
    // The trie in compressed form: node n's children are edges childStart[n] .. childStart[n + 1) (sorted by byte).
    final int[] childStart;
    final byte[] edgeByte;
    final int[] edgeChild;
    final int[][] endsAt;  // token ids whose bytes end at node n

    /**
     * @param size   the number of ids the model scores (the logits' length)
     * @param bytes  per id, its bytes, or null for a token that never appears in constrained output
     * @param eosIds the ids that end generation
     */
    public Vocabulary(int size, byte[][] bytes, List<Integer> eosIds) {
        this.size = size;
        this.bytes = Arrays.copyOf(bytes, size);
        this.eos = eosIds.stream().mapToInt(Integer::intValue).filter(i -> i >= 0 && i < size).distinct().toArray();
        for (int id : eos) {
            this.bytes[id] = null;
        }
        List<Map<Byte, Integer>> children = new ArrayList<>();
        List<List<Integer>> ends = new ArrayList<>();
        children.add(new HashMap<>());
        ends.add(new ArrayList<>());
        for (int id = 0; id < size; id++) {
            byte[] b = this.bytes[id];
            if (b == null || b.length == 0) {
                this.bytes[id] = null;
                continue;
            }
            int node = 0;
            for (byte x : b) {
                Integer c = children.get(node).get(x);
                if (c == null) {
                    c = children.size();
                    children.get(node).put(x, c);
                    children.add(new HashMap<>());
                    ends.add(new ArrayList<>());
                }
                node = c;
            }
            ends.get(node).add(id);
        }
        int nodes = children.size();
        childStart = new int[nodes + 1];
        int edges = 0;
        for (int n = 0; n < nodes; n++) {
            childStart[n] = edges;
            edges += children.get(n).size();
        }
        childStart[nodes] = edges;
        edgeByte = new byte[edges];
        edgeChild = new int[edges];
        endsAt = new int[nodes][];
        for (int n = 0; n < nodes; n++) {
            int at = childStart[n];
            List<Map.Entry<Byte, Integer>> sorted = new ArrayList<>(children.get(n).entrySet());
            sorted.sort(Map.Entry.comparingByKey((x, y) -> Integer.compare(x & 0xFF, y & 0xFF)));
            for (Map.Entry<Byte, Integer> e : sorted) {
                edgeByte[at] = e.getKey();
                edgeChild[at++] = e.getValue();
            }
            endsAt[n] = ends.get(n).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    public int size() {
        return size;
    }

    /** The bytes of {@code id}, or null when it never appears under a constraint. */
    public byte[] bytes(int id) {
        return id >= 0 && id < size ? bytes[id] : null;
    }

    public boolean isEos(int id) {
        for (int e : eos) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    int[] eosIds() {
        return eos;
    }

    /** Sets in {@code mask} every token whose bytes the automaton admits from {@code state}. */
    void allowed(Dfa dfa, int state, long[] mask) {
        int[] nodeStack = new int[64];
        int[] stateStack = new int[64];
        int top = 0;
        nodeStack[top] = 0;
        stateStack[top++] = state;
        while (top > 0) {
            int node = nodeStack[--top];
            int st = stateStack[top];
            for (int e = childStart[node]; e < childStart[node + 1]; e++) {
                int ns = dfa.next(st, edgeByte[e] & 0xFF);
                if (ns < 0) {
                    continue;
                }
                int child = edgeChild[e];
                for (int id : endsAt[child]) {
                    mask[id >>> 6] |= 1L << id;
                }
                if (childStart[child] < childStart[child + 1]) {
                    if (top == nodeStack.length) {
                        nodeStack = Arrays.copyOf(nodeStack, top * 2);
                        stateStack = Arrays.copyOf(stateStack, top * 2);
                    }
                    nodeStack[top] = child;
                    stateStack[top++] = ns;
                }
            }
        }
    }
}
