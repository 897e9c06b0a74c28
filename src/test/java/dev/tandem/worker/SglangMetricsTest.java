package dev.tandem.worker;

import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --metrics-names sglang}: /metrics carries SGLang's Prometheus names, with the counts of what ran. */
@ExtendWith(VertxExtension.class)
class SglangMetricsTest {

    @Test
    void sglangNamesCountWhatTheWorkerDid(Vertx vertx) throws Exception {
        try (WorkerFixture w = new WorkerFixture(vertx, "--metrics-names", "sglang", "--served-model-name",
                "sgl-names-test")) {
            w.generate("{\"text\": \"Hello\", \"sampling_params\": {\"max_new_tokens\": 5, \"temperature\": 0,"
                    + " \"ignore_eos\": true}}");
            w.awaitIdle();
            String scrape = w.get("/metrics").body();
            String sel = "\\{[^}]*model_name=\"sgl-names-test\"[^}]*\\}";
            assertEquals(5.0, value(scrape, "sglang:generation_tokens_total" + sel), scrape);
            assertEquals(1.0, value(scrape, "sglang:num_requests_total" + sel));
            assertEquals(1.0, value(scrape, "sglang:time_to_first_token_seconds_count" + sel));
            assertEquals(4.0, value(scrape, "sglang:inter_token_latency_seconds_count" + sel));
            assertEquals(1.0, value(scrape, "sglang:e2e_request_latency_seconds_count" + sel));
            assertEquals(0.0, value(scrape, "sglang:num_running_reqs" + sel));
            assertTrue(Pattern.compile("sglang:time_to_first_token_seconds_bucket" + sel).matcher(scrape).find(),
                    "histogram buckets for histogram_quantile");
            assertTrue(Pattern.compile("sglang:num_decode_transfer_queue_reqs" + sel).matcher(scrape).find());
        }
    }

    private static double value(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + series + " ([0-9.E+-]+)$").matcher(scrape);
        if (!m.find()) {
            throw new AssertionError("no series " + series + " in:\n" + String.join("\n",
                    scrape.lines().filter(l -> l.contains("sglang") || l.contains("generation")).toList()));
        }
        return Double.parseDouble(m.group(1));
    }
}
