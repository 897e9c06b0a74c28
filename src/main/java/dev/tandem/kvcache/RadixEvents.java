package dev.tandem.kvcache;

import dev.tandem.kvevents.KvEvent;
import dev.tandem.kvevents.TupleHash;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@link RadixCache}'s event queue (SGLang §8.3): one {@code BlockStored} per page of a stored node, its parent
 * the hash of the page before it in the token sequence (null only for a sequence's first page); {@code BlockRemoved}
 * with a node's page hashes; {@code AllBlocksCleared}. Block hash: CPython's hash of the page's token tuple.
 */
final class RadixEvents {
    private final int pageSize;
    private final List<KvEvent> queue = new ArrayList<>();

    RadixEvents(int pageSize) {
        this.pageSize = pageSize;
    }

    void stored(RadixNode n) {
        stored(n, queue);
    }

    void removed(RadixNode n) {
        List<Long> hashes = new ArrayList<>();
        for (int i = 0; i < n.key.length; i += pageSize) {
            hashes.add(TupleHash.hash(n.key, i, i + pageSize));
        }
        queue.add(new KvEvent.BlockRemoved(hashes));
    }

    void cleared() {
        queue.add(new KvEvent.AllBlocksCleared());
    }

    /** The queued events, oldest first; the queue is emptied. */
    List<KvEvent> take() {
        List<KvEvent> out = List.copyOf(queue);
        queue.clear();
        return out;
    }

    /** {@code AllBlocksCleared}, then every pool node below {@code root} as stored, parents before children. */
    List<KvEvent> snapshot(RadixNode root) {
        List<KvEvent> out = new ArrayList<>();
        out.add(new KvEvent.AllBlocksCleared());
        snapshot(root, out);
        return out;
    }

    private void snapshot(RadixNode n, List<KvEvent> out) {
        for (RadixNode c : n.children.values()) {
            if (c.pages != null) { // host nodes are host memory's to report
                stored(c, out);
                snapshot(c, out);
            }
        }
    }

    private void stored(RadixNode n, List<KvEvent> out) {
        RadixNode p = n.parent;
        Long parent = p.parent == null ? null : TupleHash.hash(p.key, p.key.length - pageSize, p.key.length);
        for (int i = 0; i < n.key.length; i += pageSize) {
            long h = TupleHash.hash(n.key, i, i + pageSize);
            List<Integer> tokens = new ArrayList<>(pageSize);
            for (int t = i; t < i + pageSize; t++) {
                tokens.add(n.key[t]);
            }
            out.add(new KvEvent.BlockStored(List.of(h), parent, tokens, pageSize, null));
            parent = h;
        }
    }
}
