package dev.tandem.transfer;

/**
 * SGLang's transfer status, in its integer order: pollers across ranks combine with MIN, so the order matters.
 * A room's status only rises, except that {@link #FAILED} always wins ({@link #merge}).
 */
public enum KvPoll {
    FAILED,
    BOOTSTRAPPING,
    WAITING_FOR_INPUT,
    TRANSFERRING,
    SUCCESS;

    /** SGLang's integer value (0..4). */
    public int value() {
        return ordinal();
    }

    public static KvPoll of(int value) {
        if (value < 0 || value >= values().length) {
            throw new IllegalArgumentException("KVPoll value " + value + " outside 0..4");
        }
        return values()[value];
    }

    /** The status after {@code update} arrives at a room in {@code current}: up only, FAILED always wins. */
    public static KvPoll merge(KvPoll current, KvPoll update) {
        if (current == FAILED || update == FAILED) {
            return FAILED;
        }
        return update.ordinal() > current.ordinal() ? update : current;
    }

    public boolean concluded() {
        return this == FAILED || this == SUCCESS;
    }
}
