package dev.tandem.hicache;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * SGLang's storage keys for KV pages (§9.1, {@code get_hash_str}): the hex SHA-256 of the previous page's hash
 * (its 32 raw bytes, absent for the first page) followed by each token of the page as a 4-byte little-endian
 * unsigned integer. Chained page by page, so a key names a page <em>and</em> everything before it. Tandem appends
 * {@code _<suffix>} naming the model and the KV layout (SGLang's later fix, commit 8df494555), so workers with
 * different configurations can never read each other's pages.
 */
public final class PageKeys {
    private static final HexFormat HEX = HexFormat.of();

    private PageKeys() {
    }

    /** The chained hex hashes (no suffix) of the first {@code pages} whole pages of {@code tokens}. */
    public static List<String> hashes(int[] tokens, int pageSize, int pages) {
        if ((long) pages * pageSize > tokens.length) {
            throw new IllegalArgumentException(pages + " pages of " + pageSize + " exceed " + tokens.length
                    + " tokens");
        }
        MessageDigest sha = sha256();
        List<String> out = new ArrayList<>(pages);
        byte[] prior = null;
        byte[] word = new byte[4];
        for (int p = 0; p < pages; p++) {
            if (prior != null) {
                sha.update(prior);
            }
            for (int i = p * pageSize; i < (p + 1) * pageSize; i++) {
                int t = tokens[i];
                word[0] = (byte) t;
                word[1] = (byte) (t >>> 8);
                word[2] = (byte) (t >>> 16);
                word[3] = (byte) (t >>> 24);
                sha.update(word);
            }
            prior = sha.digest(); // digest() also resets
            out.add(HEX.formatHex(prior));
        }
        return out;
    }

    /** {@link #hashes} with {@code _suffix} appended: the keys the tiers use. */
    public static List<String> keys(int[] tokens, int pageSize, int pages, String suffix) {
        List<String> h = hashes(tokens, pageSize, pages);
        h.replaceAll(s -> s + "_" + suffix);
        return h;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
