package dev.tandem.hicache;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** SGLang's chained page keys, checked against values computed with Python's hashlib. */
class PageKeysTest {
    @Test
    void chainedSha256OfLittleEndianTokensAsSglangComputesThem() {
        // Python: get_hash_str([1, 2], None); get_hash_str([3, 4], that)  (sglang/srt/mem_cache/hicache_storage.py)
        List<String> h = PageKeys.hashes(new int[] {1, 2, 3, 4, 5}, 2, 2);
        assertEquals(PYTHON_FIRST, h.get(0));
        assertEquals(PYTHON_SECOND, h.get(1));
    }

    @Test
    void theSuffixSeparatesLayoutsAndAPageKeyNamesItsWholePrefix() {
        List<String> a = PageKeys.keys(new int[] {1, 2, 3, 4}, 2, 2, "m-L4-P2-S64");
        List<String> b = PageKeys.keys(new int[] {9, 2, 3, 4}, 2, 2, "m-L4-P2-S64");
        assertNotEquals(a.get(1), b.get(1), "same page, different prefix");
        assertEquals(PYTHON_FIRST + "_m-L4-P2-S64", a.get(0));
        KvLayout l = new KvLayout("org/Model 1B", 4, 16, 256);
        assertEquals(2L * 4 * 16 * 256, l.pageBytes());
        assertNotEquals(l.suffix(), new KvLayout("org-Model-1B", 4, 16, 256).suffix(), "cleaned names differ");
        assertNotEquals(l.suffix(), new KvLayout("org/Model 1B", 4, 16, 128).suffix());
    }

    static final String PYTHON_FIRST = "34fb5c825de7ca4aea6e712f19d439c1da0c92c37b423936c5f618545ca4fa1f";
    static final String PYTHON_SECOND = "c57b445f90651b9a650e516ab2238c965b21af35608a31c303e6d9e407f2915c";
}
