package dev.tandem.kvevents;

import java.util.List;

/**
 * What a prefix cache reports (SGLang §8.1): blocks stored, blocks removed, everything cleared. Sealed: the codec
 * handles each kind explicitly.
 */
public sealed interface KvEvent {

    /**
     * A page-sized block of tokens entered the cache.
     *
     * @param parentBlockHash the hash of the block before it in the token sequence, null for a sequence's first
     *                        block (our rule; SGLang's differs, see this package's README)
     * @param loraId          null until LoRA exists
     */
    record BlockStored(List<Long> blockHashes, Long parentBlockHash, List<Integer> tokenIds, int blockSize,
                       Integer loraId) implements KvEvent {
        public BlockStored {
            blockHashes = List.copyOf(blockHashes);
            tokenIds = List.copyOf(tokenIds);
        }
    }

    record BlockRemoved(List<Long> blockHashes) implements KvEvent {
        public BlockRemoved {
            blockHashes = List.copyOf(blockHashes);
        }
    }

    record AllBlocksCleared() implements KvEvent {
    }
}
