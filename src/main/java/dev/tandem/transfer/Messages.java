package dev.tandem.transfer;

/**
 * The bootstrap handshake's messages (SGLang's ZMQ frames A, B and C, §7.5), as records; the worker's event-bus
 * adapter carries them between JVMs.
 */
public final class Messages {
    private Messages() {
    }

    /**
     * Frame A, decode → prefill, once per prefill peer: where the decode worker's KV and aux memory is.
     *
     * @param decodeWorkerId identifies the decode worker (its status address derives from it)
     * @param engineRank     decode TP rank (0 until tensor parallelism exists)
     * @param attnTpSize     decode attention TP size (1 for now)
     * @param incarnation    new at every start of the decode worker: a registration with another one means the
     *                       worker restarted, and rooms of its previous life must never be pushed into its new pool
     * @param format         what the decode worker's pages hold (KV dtype, weight quantization, page size); a prefill
     *                       worker refuses to pair when its own differs; null when the sender did not declare it
     */
    public record KvArgsRegistration(String decodeWorkerId, SegmentDescriptor kv, KvLayout kvLayout,
                                     SegmentDescriptor aux, int auxSlots, int engineRank, int attnTpSize,
                                     String incarnation, KvFormat format) {
        /** A registration that does not declare its format: only its layout is checked. */
        public KvArgsRegistration(String decodeWorkerId, SegmentDescriptor kv, KvLayout kvLayout,
                                  SegmentDescriptor aux, int auxSlots, int engineRank, int attnTpSize,
                                  String incarnation) {
            this(decodeWorkerId, kv, kvLayout, aux, auxSlots, engineRank, attnTpSize, incarnation, null);
        }
    }

    /**
     * Frame B, decode → prefill, per room: the destination pages (in prompt order) and aux slot.
     *
     * @param requiredDstInfoNum how many of these the prefill side waits for (1 while TP sizes match)
     * @param incarnation        the decode worker's incarnation whose pages these are
     */
    public record TransferInfo(long room, String decodeWorkerId, int[] dstPages, int dstAuxIndex,
                               int requiredDstInfoNum, String incarnation) {
    }

    /**
     * Decode → prefill: the decode side gave up on a room (abort, client gone). The prefill side fails the room and
     * answers with frame C only after its pushes into the decode worker's pages stopped, so the decode side frees
     * those pages safely. (SGLang has no such message; it can free pages a push is still writing.)
     */
    public record AbortRoom(long room, String reason) {
    }

    /** Frame C, prefill → decode: a room concluded (SUCCESS or FAILED, with the reason). */
    public record TransferStatus(long room, KvPoll status, int prefillRank, String reason) {
    }
}
