package dev.tandem.scheduler;

import dev.tandem.config.SchedulerConfig;

/** The checks that make a request impossible to serve, so it is refused instead of waiting forever. */
final class Admission {
    private Admission() {
    }

    /** The reason a prefill or decode worker refuses {@code r}: no room, or it can never fit; null when it can run. */
    static String pdRejection(SchedulerRequest r, SchedulerConfig cfg, int poolTokens) {
        if (r.bootstrap() == null) {
            return "Invalid request: Disaggregated request received without bootstrap room id.";
        }
        return rejection(r, cfg, poolTokens);
    }

    /** The reason {@code r} can never run, naming the numbers, or null when it can. */
    static String rejection(SchedulerRequest r, SchedulerConfig cfg, int poolTokens) {
        int prompt = r.inputIds().length;
        int max = r.params().maxNewTokens();
        if (prompt >= cfg.contextLength()) {
            return "The input (" + prompt + " tokens) is longer than the model's context length ("
                    + cfg.contextLength() + " tokens).";
        }
        if ((long) prompt + max > cfg.contextLength()) {
            return "Requested token count exceeds the model's context length: " + prompt + " prompt tokens + "
                    + max + " max_new_tokens > " + cfg.contextLength() + ".";
        }
        if ((long) prompt + max > poolTokens) {
            return "The request needs up to " + (prompt + max) + " KV slots (" + prompt + " prompt + " + max
                    + " max_new_tokens) but the KV pool holds " + poolTokens + " (max_total_tokens).";
        }
        return null;
    }
}
