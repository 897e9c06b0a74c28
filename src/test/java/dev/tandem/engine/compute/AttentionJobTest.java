package dev.tandem.engine.compute;

import org.junit.jupiter.api.Test;

import static dev.tandem.engine.compute.AttentionJob.Split.CHUNKS;
import static dev.tandem.engine.compute.AttentionJob.Split.HEADS;
import static dev.tandem.engine.compute.AttentionJob.Split.UNITS;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Which split a batch's attention takes (the bits are the same in every one: GroupedAttentionTest and
 * ForwardConsistencyTest hold each split to the same reference; this pins down that each one is reached).
 */
class AttentionJobTest {
    @Test
    void aLoneTokenOverSeveralChunksIsSplitByChunks() {
        int chunk = AttentionChunks.CHUNK;
        // The bench preset's shape: 3 K/V heads of 3 query heads, on two threads.
        assertEquals(CHUNKS, AttentionJob.split(1, 3, 3, chunk + 1, 2), "65 positions: two chunks");
        assertEquals(CHUNKS, AttentionJob.split(1, 3, 3, 600, 3), "600 positions on three threads");
        assertEquals(CHUNKS, AttentionJob.split(1, 4, 1, 600, 3), "group size 1 too");
        assertEquals(HEADS, AttentionJob.split(1, 3, 3, chunk, 2), "one chunk: its heads in equal runs");
        assertEquals(UNITS, AttentionJob.split(1, 3, 1, chunk, 2), "one chunk, one head a group: by group");
        assertEquals(UNITS, AttentionJob.split(1, 3, 3, 600, 1), "one thread attends every group whole");
        assertEquals(UNITS, AttentionJob.split(1, 4, 3, 600, 2), "4 groups keep 2 threads busy");
    }

    @Test
    void batchesSplitByGroupUnlessTooFew() {
        assertEquals(UNITS, AttentionJob.split(2, 3, 3, 600, 2), "6 groups on 2 threads");
        assertEquals(UNITS, AttentionJob.split(32, 3, 3, 300, 2), "batch 32");
        assertEquals(HEADS, AttentionJob.split(2, 2, 2, 131, 3), "4 groups on 3 threads: heads in runs");
        assertEquals(UNITS, AttentionJob.split(2, 2, 1, 131, 3), "the same without groups to split");
    }
}
