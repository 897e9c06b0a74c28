package dev.tandem.kvevents;

import java.util.List;

/**
 * What a prefix cache reports (SGLang §8.1): blocks stored, blocks removed, everything cleared. Sealed: the codec
 * handles each kind explicitly.
 */
public sealed interface KvEvent {
    /** vLLM's name for host memory (HiCache's L2); the device pool is {@code "GPU"}, written as null here. */
    String HOST = "CPU";

    /** null for the device pool: "GPU" as vLLM names it, normalized away so the common case compares equal. */
    private static String normalMedium(String medium) {
        return "GPU".equals(medium) ? null : medium;
    }

    /**
     * A page-sized block of tokens entered the cache.
     *
     * @param parentBlockHash the hash of the block before it in the token sequence, null for a sequence's first
     *                        block (our rule; SGLang's differs, see this package's README)
     * @param loraId          null until LoRA exists
     * @param medium          where the block is: null for the device pool (vLLM's "GPU"), {@link #HOST} for host
     *                        memory (vLLM's "CPU")
     */
    record BlockStored(List<Long> blockHashes, Long parentBlockHash, List<Integer> tokenIds, int blockSize,
                       Integer loraId, String medium) implements KvEvent {
        public BlockStored {
            blockHashes = List.copyOf(blockHashes);
            tokenIds = List.copyOf(tokenIds);
            medium = KvEvent.normalMedium(medium);
        }

        /** A block of the device pool. */
        public BlockStored(List<Long> blockHashes, Long parentBlockHash, List<Integer> tokenIds, int blockSize,
                           Integer loraId) {
            this(blockHashes, parentBlockHash, tokenIds, blockSize, loraId, null);
        }
    }

    /** @param medium as in {@link BlockStored}: the tier the blocks left; they may still be in another */
    record BlockRemoved(List<Long> blockHashes, String medium) implements KvEvent {
        public BlockRemoved {
            blockHashes = List.copyOf(blockHashes);
            medium = KvEvent.normalMedium(medium);
        }

        /** Blocks gone from the device pool. */
        public BlockRemoved(List<Long> blockHashes) {
            this(blockHashes, null);
        }
    }

    record AllBlocksCleared() implements KvEvent {
    }
}
