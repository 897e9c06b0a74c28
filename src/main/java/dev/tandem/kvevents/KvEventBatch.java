package dev.tandem.kvevents;

import java.util.List;

/** Events published together (SGLang's {@code KVEventBatch}): a timestamp in seconds, the events, the DP rank. */
public record KvEventBatch(double ts, List<KvEvent> events, Integer attnDpRank) {
    public KvEventBatch {
        events = List.copyOf(events);
    }
}
