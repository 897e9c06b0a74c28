package dev.tandem.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.gateway.policy.Candidate;
import dev.tandem.gateway.policy.Policies;
import dev.tandem.gateway.policy.Policy;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoliciesTest {
    private static final List<Candidate> THREE = List.of(new Candidate("http://c", 5), new Candidate("http://a", 1),
            new Candidate("http://b", 9));

    @Test
    void roundRobinVisitsEachInUrlOrder() {
        Policy p = Policies.create("round_robin");
        List<String> picks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            picks.add(p.pick(THREE).url());
        }
        assertEquals(List.of("http://a", "http://b", "http://c", "http://a", "http://b", "http://c"), picks);
    }

    @Test
    void powerOfTwoNeverPicksTheMostLoadedOfThree() {
        Policy p = Policies.create("power_of_two");
        Map<String, Integer> n = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            n.merge(p.pick(THREE).url(), 1, Integer::sum);
        }
        assertEquals(null, n.get("http://b"), "b (load 9) loses every pair it is in");
        assertTrue(n.get("http://a") > n.get("http://c"), "a wins both its pairs, c one of two: " + n);
    }

    @Test
    void randomCoversEveryWorkerAndUnknownNamesAreRefused() {
        Policy p = Policies.create("random");
        Map<String, Integer> n = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            n.merge(p.pick(THREE).url(), 1, Integer::sum);
        }
        assertEquals(3, n.size());
        n.values().forEach(c -> assertTrue(c > 800, n.toString()));
        assertEquals("policy: unknown policy 'least_load' (choose [random, round_robin, power_of_two, cache_aware])",
                assertThrows(IllegalArgumentException.class, () -> Policies.create("least_load")).getMessage());
        assertEquals("policy: cache_aware needs a prefix index fed by KV events",
                assertThrows(IllegalArgumentException.class, () -> Policies.create("cache_aware")).getMessage());
    }

    @Test
    void injectionBracketsIpv6AndMintsRoomsInRange() throws Exception {
        assertEquals("[::1]", PdInjection.bootstrapHost("http://[::1]:30001"));
        assertEquals("10.0.0.7", PdInjection.bootstrapHost("http://10.0.0.7:30001"));
        ObjectNode body = (ObjectNode) new ObjectMapper().readTree("{\"input_ids\": [[1, 2], [3]], \"rid\": [\"x\", \"y\"]}");
        var inj = PdInjection.inject(body, true, new WorkerEntry("prefill", "http://[::1]:30001", null));
        assertEquals("[\"[::1]\",\"[::1]\"]", inj.body().get("bootstrap_host").toString());
        assertEquals("[null,null]", inj.body().get("bootstrap_port").toString());
        assertEquals(List.of("x", "y"), inj.rids());
        for (int i = 0; i < 10_000; i++) {
            assertTrue(PdInjection.newRoom() >= 0);
        }
        assertTrue(!body.has("bootstrap_room"), "the client's body is not modified");
    }
}
