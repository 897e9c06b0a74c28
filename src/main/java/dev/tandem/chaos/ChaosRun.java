package dev.tandem.chaos;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;

/** One soak from start to verdict (see the package documentation). */
public final class ChaosRun {
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(120);
    private final ChaosOptions options;
    private final Http http = new Http();

    public ChaosRun(ChaosOptions options) {
        this.options = options;
    }

    public ChaosReport run() throws Exception {
        try (ChaosCluster cluster = new ChaosCluster(options)) {
            cluster.startAll();
            cluster.awaitHealthy(http, 240);
            Prompts prompts = new Prompts();
            prompts.computeReference(http, cluster.reference.url());
            String generate = cluster.gateway.url() + "/generate";
            awaitFirstAnswer(generate, prompts);
            System.out.println("[chaos] cluster up; load and faults for " + options.seconds() + " s");

            Outcomes during = new Outcomes();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < options.clients(); c++) {
                Random r = new Random(options.seed() * 31 + c);
                clients.add(Thread.ofPlatform().name("chaos-client-" + c).start(() -> {
                    while (!stop.get()) {
                        int i = r.nextInt(prompts.size());
                        Http.Reply reply = http.post(generate, prompts.body(i), REQUEST_TIMEOUT);
                        during.record(i, reply, prompts.reference(i));
                        if (reply.status() != 200) {
                            pause(); // as a client backs off after an error, rather than spinning on 503s
                        }
                    }
                }));
            }
            FaultInjector faults = new FaultInjector(cluster.victims(), options);
            faults.run(System.nanoTime() + (long) (options.seconds() * 1e9));
            stop.set(true);
            for (Thread t : clients) {
                t.join(); // each in-flight request ends by its own deadline
            }

            System.out.println("[chaos] faults over; waiting for every worker to be healthy");
            cluster.awaitHealthy(http, 240);
            Thread.sleep(3000); // two decode heartbeats and the gateway's health checks: every pair is known again
            int afterAnswered = 0;
            Outcomes after = new Outcomes();
            for (int i = 0; i < prompts.size(); i++) {
                after.record(i, http.post(generate, prompts.body(i), REQUEST_TIMEOUT), prompts.reference(i));
            }
            afterAnswered = (int) after.answered.sum();
            Map<String, Integer> leaked = new LinkedHashMap<>();
            for (ManagedProcess w : cluster.workers()) {
                leaked.put(w.name, usedPagesWhenIdle(w));
            }
            List<String> lostAll = new ArrayList<>(during.lostExamples());
            after.lostExamples().forEach(e -> lostAll.add("after the chaos, " + e));
            List<String> differs = new ArrayList<>(during.mismatchExamples());
            after.mismatchExamples().forEach(e -> differs.add("after the chaos, " + e));
            Map<String, Long> kinds = during.errorKinds();
            after.errorKinds().forEach((k, n) -> kinds.merge("after the chaos: " + k, n, Long::sum));
            return new ChaosReport(options.seconds(), options.clients(), options.seed(), options.transport(),
                    faults.counts.clone(), faults.stoppedSeconds, during.sent.sum() + after.sent.sum(),
                    during.answered.sum() + after.answered.sum(), during.mismatched.sum() + after.mismatched.sum(),
                    during.clearErrors.sum() + after.clearErrors.sum(), during.lost.sum() + after.lost.sum(), kinds,
                    lostAll, differs, leaked, prompts.size(), afterAnswered, List.copyOf(faults.timeline));
        }
    }

    private static void pause() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The first request through the gateway succeeds once both pairs have registered (bounded). */
    private void awaitFirstAnswer(String generate, Prompts prompts) throws InterruptedException {
        long end = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < end) {
            if (http.post(generate, prompts.body(1), REQUEST_TIMEOUT).status() == 200) {
                return;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("the gateway gave no answer within 120 s of the cluster being healthy");
    }

    /** KV pages the worker still holds once nothing runs or waits on it (-1 if it never goes idle within 60 s). */
    private int usedPagesWhenIdle(ManagedProcess w) throws InterruptedException {
        long end = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < end) {
            JsonNode st = ChaosCluster.state(http, w);
            if (st != null && st.path("num_running_reqs").asInt(-1) == 0 && st.path("num_waiting_reqs").asInt(-1) == 0) {
                return st.path("kv_pages_used").asInt(-1);
            }
            Thread.sleep(250);
        }
        return -1;
    }
}
