package dev.tandem.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.config.EngineConfig;
import dev.tandem.engine.Generator;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.tokenizer.IncrementalDecoder;
import dev.tandem.tokenizer.TextTokenizer;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code generate --model DIR (--prompt TEXT | --input-ids 1,2,3) --max-new-tokens N [--temperature T] [--json]}:
 * streams the text to stdout as it is produced and ends with prompt and decode speed on stderr; with {@code --json}
 * prints one object {@code {"input_ids", "output_ids", "text"}} instead.
 */
public final class GenerateCommand {
    private GenerateCommand() {
    }

    public static int run(String[] argv) throws RuntimeException {
        Args a = Args.parse(argv, Set.of("json", "ignore-eos"));
        Path dir = Path.of(a.required("model"));
        String prompt = a.string("prompt", null);
        int[] inputIds = a.intList("input-ids");
        if ((prompt == null) == (inputIds == null)) {
            throw new ConfigException("give exactly one of --prompt TEXT or --input-ids 1,2,3");
        }
        Long seed = a.has("seed") ? a.longValue("seed", 0) : null;
        SamplingParams params = new SamplingParams(a.integer("max-new-tokens", 32), a.number("temperature", 0f),
                a.number("top-p", 1f), a.integer("top-k", -1), a.number("min-p", 0f), 0f, 0f, 1f, seed, List.of(),
                a.flag("ignore-eos"), 0);
        boolean json = a.flag("json");
        EngineConfig engine = a.engine(0);
        a.rejectUnknown();

        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (ComputeBackend backend = ComputeBackends.create(engine.backend(), engine.threads(),
                engine.quantization());
             Model model = Model.load(dir, backend, msg -> System.err.println("[load] " + msg));
             TextTokenizer tok = TextTokenizer.load(dir)) {
            System.err.println("[engine] compute backend: " + ComputeBackends.describe(backend));
            int[] ids = inputIds != null ? inputIds : tok.encode(prompt, true);
            int context = ids.length + params.maxNewTokens();
            int poolTokens = engine.maxTotalTokens() > 0 ? engine.maxTotalTokens() : context;
            try (PagedKvCache kv = model.newKvCache(engine.pageSize(), poolTokens, 1, context, null,
                    engine.kvCacheDtype())) {
                IncrementalDecoder decoder = tok.incrementalDecoder(true);
                Generator.Result r = new Generator(model.transformer(), kv).generate(
                        new Generator.Request(ids, params, -1, 0), model.config().eosTokenIds(), s -> {
                            String delta = decoder.add(s.tokenId());
                            if (!json) {
                                out.print(delta);
                                out.flush();
                            }
                        });
                if (json) {
                    ObjectMapper m = new ObjectMapper();
                    ObjectNode o = m.createObjectNode();
                    ids(o.putArray("input_ids"), ids);
                    ids(o.putArray("output_ids"), r.outputIds());
                    o.put("text", tok.decode(r.outputIds(), true));
                    out.println(o);
                } else {
                    out.println();
                }
                System.err.printf("[generate] prompt: %d tokens in %.1f ms (%.1f tok/s); decode: %d tokens in %.1f ms"
                                + " (%.1f tok/s); finish: %s%n", ids.length, r.prefillNanos() / 1e6,
                        ids.length / (r.prefillNanos() / 1e9), r.outputIds().length, r.decodeNanos() / 1e6,
                        r.outputIds().length / Math.max(r.decodeNanos() / 1e9, 1e-9), r.finish().type());
            }
        }
        return 0;
    }

    private static void ids(com.fasterxml.jackson.databind.node.ArrayNode arr, int[] ids) {
        for (int id : ids) {
            arr.add(id);
        }
    }
}
