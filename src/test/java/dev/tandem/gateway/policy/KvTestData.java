package dev.tandem.gateway.policy;

import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.KvEventBatch;
import dev.tandem.kvevents.TupleHash;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** KV events as a Tandem worker emits them: one BlockStored per page, parent = the previous page of the sequence. */
public final class KvTestData {
    private KvTestData() {
    }

    /** Tokens {@code from, from+1, …} ({@code n} of them). */
    public static int[] seq(int from, int n) {
        int[] t = new int[n];
        Arrays.setAll(t, i -> from + i);
        return t;
    }

    public static int[] concat(int[] a, int[] b) {
        int[] t = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, t, a.length, b.length);
        return t;
    }

    public static long pageHash(int[] tokens, int bs, int page) {
        return TupleHash.hash(tokens, page * bs, (page + 1) * bs);
    }

    /** BlockStored for pages {@code [fromPage, toPage)} of {@code tokens}. */
    public static List<KvEvent> stored(int[] tokens, int bs, int fromPage, int toPage) {
        List<KvEvent> out = new ArrayList<>();
        for (int k = fromPage; k < toPage; k++) {
            List<Integer> ids = new ArrayList<>();
            for (int i = k * bs; i < (k + 1) * bs; i++) {
                ids.add(tokens[i]);
            }
            out.add(new KvEvent.BlockStored(List.of(pageHash(tokens, bs, k)), k == 0 ? null : pageHash(tokens, bs, k - 1),
                    ids, bs, null));
        }
        return out;
    }

    public static KvEvent removed(int[] tokens, int bs, int page) {
        return new KvEvent.BlockRemoved(List.of(pageHash(tokens, bs, page)));
    }

    public static KvEventBatch batch(List<KvEvent> events) {
        return new KvEventBatch(1.0, events, 0);
    }

    public static KvEventBatch batch(KvEvent... events) {
        return batch(List.of(events));
    }

    /** What a worker answers a snapshot request with: a clear, then every stored page. */
    public static KvEventBatch snapshot(List<KvEvent> stored) {
        List<KvEvent> all = new ArrayList<>();
        all.add(new KvEvent.AllBlocksCleared());
        all.addAll(stored);
        return batch(all);
    }
}
