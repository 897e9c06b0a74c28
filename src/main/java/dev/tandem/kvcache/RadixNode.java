package dev.tandem.kvcache;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An edge of the {@link RadixCache}: {@code key} tokens (whole pages), their pool {@code pages} (null: not in the
 * pool, a host node), their host copies, and the children keyed by their first page. The root has no parent.
 */
final class RadixNode {
    RadixNode parent;
    int[] key;
    int[] pages;
    long[] host; // null: no page has a host copy
    final Map<List<Integer>, RadixNode> children = new HashMap<>();
    int lockRef;
    long lastAccess;

    RadixNode(RadixNode parent, int[] key, int[] pages) {
        this.parent = parent;
        this.key = key;
        this.pages = pages;
    }

    /** The child map's key for the page of {@code key} starting at {@code from}. */
    static List<Integer> pageKey(int[] key, int from, int pageSize) {
        List<Integer> l = new ArrayList<>(pageSize);
        for (int i = from; i < from + pageSize; i++) {
            l.add(key[i]);
        }
        return l;
    }

    boolean hasPoolChild() {
        for (RadixNode c : children.values()) {
            if (c.pages != null) {
                return true;
            }
        }
        return false;
    }

    /** The tokens from the root to the end of this node. */
    int[] path() {
        int len = 0;
        for (RadixNode a = this; a.parent != null; a = a.parent) {
            len += a.key.length;
        }
        int[] out = new int[len];
        for (RadixNode a = this; a.parent != null; a = a.parent) {
            len -= a.key.length;
            System.arraycopy(a.key, 0, out, len, a.key.length);
        }
        return out;
    }
}
