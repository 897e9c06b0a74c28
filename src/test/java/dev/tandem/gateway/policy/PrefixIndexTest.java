package dev.tandem.gateway.policy;

import dev.tandem.kvevents.KvEvent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static dev.tandem.gateway.policy.KvTestData.batch;
import static dev.tandem.gateway.policy.KvTestData.concat;
import static dev.tandem.gateway.policy.KvTestData.pageHash;
import static dev.tandem.gateway.policy.KvTestData.removed;
import static dev.tandem.gateway.policy.KvTestData.seq;
import static dev.tandem.gateway.policy.KvTestData.snapshot;
import static dev.tandem.gateway.policy.KvTestData.stored;
import static org.junit.jupiter.api.Assertions.assertEquals;

class PrefixIndexTest {
    private static final String A = "http://a";
    private static final String B = "http://b";
    private static final int BS = 4;

    @Test
    void matchesWholeChainedPagesOnly() {
        PrefixIndex idx = new PrefixIndex();
        int[] p = seq(100, 14); // pages 0..2 full, 2 tokens over
        assertEquals(0, idx.matchedTokens(A, p), "no index yet");
        idx.apply(A, batch(stored(p, BS, 0, 3)));
        assertEquals(BS, idx.blockSize(A));
        assertEquals(3, idx.size(A));
        assertEquals(12, idx.matchedTokens(A, p));
        assertEquals(12, idx.matchedTokens(A, seq(100, 12)));
        assertEquals(8, idx.matchedTokens(A, seq(100, 11)), "page 2 incomplete in the prompt");
        assertEquals(0, idx.matchedTokens(A, seq(100, 3)), "shorter than a page");
        assertEquals(4, idx.matchedTokens(A, concat(seq(100, 4), seq(500, 8))), "diverges in page 1");
        assertEquals(0, idx.matchedTokens(A, seq(101, 12)), "diverges at the first token");
        assertEquals(0, idx.matchedTokens(B, p), "another worker holds nothing");
        assertEquals(0, idx.matchedTokens(A, null));
    }

    @Test
    void aMissingPageOrAWrongParentBreaksTheChain() {
        PrefixIndex idx = new PrefixIndex();
        int[] p = seq(100, 16);
        List<KvEvent> pages = stored(p, BS, 0, 4);
        idx.apply(A, batch(pages.get(0), pages.get(2), pages.get(3)));
        assertEquals(4, idx.matchedTokens(A, p), "page 1 missing: pages 2 and 3 do not count");
        idx.apply(A, batch(pages.get(1)));
        assertEquals(16, idx.matchedTokens(A, p));
        // SGLang's quirk: a node's first page stored with a null parent does not chain to the page before it.
        idx.apply(A, batch(new KvEvent.BlockStored(List.of(pageHash(p, BS, 2)), null, List.of(108, 109, 110, 111),
                BS, null)));
        assertEquals(8, idx.matchedTokens(A, p));
    }

    @Test
    void aBlockLeavingThePoolForHostMemoryStaysMatchedUntilItLeavesBoth() {
        PrefixIndex idx = new PrefixIndex();
        int[] p = seq(100, 8);
        List<KvEvent> gpu = stored(p, BS, 0, 2);
        List<KvEvent> cpu = new ArrayList<>();
        for (KvEvent e : gpu) {
            KvEvent.BlockStored s = (KvEvent.BlockStored) e;
            cpu.add(new KvEvent.BlockStored(s.blockHashes(), s.parentBlockHash(), s.tokenIds(), s.blockSize(), null,
                    KvEvent.HOST));
        }
        idx.apply(A, batch(gpu.get(0), gpu.get(1), cpu.get(1)));
        idx.apply(A, batch(new KvEvent.BlockRemoved(List.of(pageHash(p, BS, 1)))));
        assertEquals(8, idx.matchedTokens(A, p), "page 1 left the pool but host memory has it");
        idx.apply(A, batch(new KvEvent.BlockRemoved(List.of(pageHash(p, BS, 1)), KvEvent.HOST)));
        assertEquals(4, idx.matchedTokens(A, p), "gone from both tiers");
        idx.apply(A, batch(cpu.get(1), new KvEvent.BlockRemoved(List.of(pageHash(p, BS, 1)))));
        assertEquals(8, idx.matchedTokens(A, p), "a pool removal does not take a host copy");
        // a sequence's first page (parent null) back in the pool, then out of it: its host copy still counts
        idx.apply(A, batch(cpu.get(0), gpu.get(0), new KvEvent.BlockRemoved(List.of(pageHash(p, BS, 0)))));
        assertEquals(8, idx.matchedTokens(A, p));
        idx.apply(A, batch(new KvEvent.AllBlocksCleared()));
        assertEquals(0, idx.matchedTokens(A, p));
        assertEquals(0, idx.size(A));
    }

    @Test
    void removalsAndClearsForgetBlocks() {
        PrefixIndex idx = new PrefixIndex();
        int[] p = seq(100, 16);
        idx.apply(A, batch(stored(p, BS, 0, 4)));
        idx.apply(B, batch(stored(p, BS, 0, 2)));
        assertEquals(6, idx.totalSize());
        idx.apply(A, batch(removed(p, BS, 2)));
        assertEquals(8, idx.matchedTokens(A, p));
        assertEquals(3, idx.size(A));
        assertEquals(5, idx.totalSize());
        idx.apply(A, batch(new KvEvent.AllBlocksCleared(), stored(p, BS, 0, 1).get(0)));
        assertEquals(4, idx.matchedTokens(A, p), "cleared, then page 0 stored again");
        assertEquals(1, idx.size(A));
        idx.clear(A);
        assertEquals(0, idx.matchedTokens(A, p));
        assertEquals(BS, idx.blockSize(A), "the page size is still known after a clear");
        assertEquals(8, idx.matchedTokens(B, p), "other workers untouched");
        idx.remove(B);
        assertEquals(0, idx.matchedTokens(B, p));
        assertEquals(0, idx.blockSize(B));
        assertEquals(0, idx.totalSize());
    }

    @Test
    void theLatestStoreOfAPageWins() {
        PrefixIndex idx = new PrefixIndex();
        int[] x = seq(900, 4);
        int[] s1 = concat(seq(100, 4), x);
        int[] s2 = concat(seq(200, 4), x);
        idx.apply(A, batch(stored(s1, BS, 0, 2)));
        idx.apply(A, batch(stored(s2, BS, 0, 2)));
        assertEquals(3, idx.size(A), "page x is one entry");
        assertEquals(4, idx.matchedTokens(A, s1), "x now chains to s2's first page");
        assertEquals(8, idx.matchedTokens(A, s2));
    }

    @Test
    void aSnapshotReplacesTheWorkersBlocks() {
        PrefixIndex idx = new PrefixIndex();
        int[] p = seq(100, 12);
        int[] q = seq(300, 12);
        idx.apply(A, batch(stored(p, BS, 0, 3)));
        idx.replace(A, snapshot(stored(q, BS, 0, 2)));
        assertEquals(0, idx.matchedTokens(A, p));
        assertEquals(8, idx.matchedTokens(A, q));
        assertEquals(2, idx.size(A));
        assertEquals(2, idx.totalSize());
    }

    @Test
    void pastTheBoundTheLargestWorkerForgetsItsLeastRecentlyUsedBlocks() {
        PrefixIndex idx = new PrefixIndex(3);
        int[] p = seq(100, 12);
        idx.apply(A, batch(stored(p, BS, 0, 3)));
        assertEquals(0, idx.evictions());
        int[] r = seq(700, 4);
        idx.apply(B, batch(stored(r, BS, 0, 1)));
        assertEquals(1, idx.evictions());
        assertEquals(3, idx.totalSize());
        assertEquals(2, idx.size(A));
        assertEquals(1, idx.size(B));
        assertEquals(0, idx.matchedTokens(A, p), "A's oldest block was its first page");
        assertEquals(4, idx.matchedTokens(B, r));

        // A match makes blocks recent, the first page most recent: eviction takes the unmatched deeper page first.
        PrefixIndex lru = new PrefixIndex(3);
        int[] q = seq(300, 4);
        lru.apply(A, batch(stored(p, BS, 0, 2)));
        assertEquals(8, lru.matchedTokens(A, p));
        lru.apply(A, batch(stored(q, BS, 0, 1)));
        lru.apply(B, batch(stored(r, BS, 0, 1)));
        assertEquals(1, lru.evictions());
        assertEquals(4, lru.matchedTokens(A, p), "page 1 of p was the least recently used");
        assertEquals(4, lru.matchedTokens(A, q));
        assertEquals(4, lru.matchedTokens(B, r));
    }

    @Test
    void pendingPagesCountUntilTheyExpireAndAreConfirmedOrRemovedByEvents() {
        AtomicLong now = new AtomicLong();
        PrefixIndex idx = new PrefixIndex(100, 1000, now::get);
        int[] p = seq(100, 14);
        idx.insertPending(A, p);
        assertEquals(0, idx.pendingSize(A), "page size unknown: nothing recorded");
        idx.apply(A, batch(stored(p, BS, 0, 1)));
        idx.insertPending(A, p);
        assertEquals(2, idx.pendingSize(A), "pages 1 and 2; page 0 is confirmed");
        assertEquals(12, idx.matchedTokens(A, p));
        idx.apply(A, batch(stored(p, BS, 1, 2)));
        assertEquals(1, idx.pendingSize(A), "page 1 confirmed");
        assertEquals(2, idx.size(A));
        idx.apply(A, batch(removed(p, BS, 2)));
        assertEquals(0, idx.pendingSize(A));
        assertEquals(8, idx.matchedTokens(A, p));

        idx.insertPending(A, p);
        now.addAndGet(999_999_999L);
        assertEquals(12, idx.matchedTokens(A, p), "not expired yet");
        now.addAndGet(1);
        assertEquals(8, idx.matchedTokens(A, p), "expired after 1000 ms");
        assertEquals(0, idx.pendingSize(A));
        assertEquals(2, idx.size(A));
    }

    @Test
    void pendingPagesSurviveASnapshotButNotAClear() {
        PrefixIndex idx = new PrefixIndex();
        int[] p = seq(100, 12);
        idx.apply(A, batch(stored(p, BS, 0, 1)));
        idx.insertPending(A, p);
        idx.replace(A, snapshot(new ArrayList<>(stored(p, BS, 0, 2))));
        assertEquals(1, idx.pendingSize(A), "page 2 still pending, page 1 confirmed by the snapshot");
        assertEquals(12, idx.matchedTokens(A, p));
        idx.clear(A);
        assertEquals(0, idx.pendingSize(A));
        assertEquals(0, idx.matchedTokens(A, p));
    }
}
