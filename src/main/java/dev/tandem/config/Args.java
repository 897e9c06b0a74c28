package dev.tandem.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line flags of the form {@code --name value} or {@code --flag}; typed getters whose errors name the flag.
 * Unknown flags are rejected so a typo never goes unnoticed.
 */
public final class Args {
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final Set<String> used = new HashSet<>();

    private Args() {
    }

    /** Parses {@code argv}; {@code booleanFlags} take no value. */
    public static Args parse(String[] argv, Set<String> booleanFlags) {
        Args a = new Args();
        for (int i = 0; i < argv.length; i++) {
            String s = argv[i];
            if (!s.startsWith("--") || s.length() == 2) {
                throw new ConfigException("unexpected argument '" + s + "' (flags look like --name value)");
            }
            String name = s.substring(2);
            List<String> vals = a.values.computeIfAbsent(name, k -> new ArrayList<>());
            if (booleanFlags.contains(name)) {
                vals.add("true");
                continue;
            }
            if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) {
                throw new ConfigException("flag --" + name + " needs a value");
            }
            while (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
                vals.add(argv[++i]);
            }
        }
        a.sglangNames();
        return a;
    }

    /** SGLang's server flag names for what Tandem has under its own name. */
    static final Map<String, String> SGLANG_ALIASES = Map.of(
            "model-path", "model",
            "disaggregation-mode", "mode",
            "disaggregation-bootstrap-port", "bootstrap-port",
            "disaggregation-transfer-backend", "transfer-backend");
    /** SGLang's parallelism flags: Tandem runs one device per worker, so only 1 is accepted. */
    static final Set<String> SINGLE_DEVICE = Set.of("tp-size", "dp-size", "pp-size", "ep-size");

    /**
     * Takes SGLang's flag names ({@code --model-path}, {@code --disaggregation-mode}, ...) as Tandem's, refusing both
     * spellings at once, and accepts {@code --tp-size 1} (and dp/pp/ep) while refusing any other size by name.
     */
    private void sglangNames() {
        for (Map.Entry<String, String> e : SGLANG_ALIASES.entrySet()) {
            List<String> v = values.remove(e.getKey());
            if (v == null) {
                continue;
            }
            if (values.containsKey(e.getValue())) {
                throw new ConfigException("--" + e.getKey() + " and --" + e.getValue() + " are the same flag; give one");
            }
            values.put(e.getValue(), v);
        }
        for (String f : SINGLE_DEVICE) {
            List<String> v = values.get(f);
            if (v == null) {
                continue;
            }
            if (!v.equals(List.of("1"))) {
                throw new ConfigException("--" + f, String.join(" ", v), "1 (Tandem runs one device per worker)");
            }
            used.add(f);
        }
    }

    public boolean has(String name) {
        used.add(name);
        return values.containsKey(name);
    }

    public String string(String name, String dflt) {
        used.add(name);
        List<String> v = values.get(name);
        if (v == null) {
            return dflt;
        }
        if (v.size() != 1) {
            throw new ConfigException("flag --" + name + " takes one value, got " + v);
        }
        return v.get(0);
    }

    /** Every value of a multi-valued flag ({@code --prefill URL URL ...}). */
    public List<String> list(String name) {
        used.add(name);
        List<String> v = values.get(name);
        return v == null ? List.of() : List.copyOf(v);
    }

    public String required(String name) {
        String v = string(name, null);
        if (v == null) {
            throw new ConfigException("missing required flag --" + name);
        }
        return v;
    }

    public int integer(String name, int dflt) {
        String v = string(name, null);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new ConfigException("--" + name, v, "an integer");
        }
    }

    public long longValue(String name, long dflt) {
        String v = string(name, null);
        if (v == null) {
            return dflt;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new ConfigException("--" + name, v, "an integer");
        }
    }

    public float number(String name, float dflt) {
        String v = string(name, null);
        if (v == null) {
            return dflt;
        }
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new ConfigException("--" + name, v, "a number");
        }
    }

    public boolean flag(String name) {
        return has(name);
    }

    /** Comma-separated integers, e.g. {@code --input-ids 1,2,3}. */
    public int[] intList(String name) {
        String v = string(name, null);
        if (v == null) {
            return null;
        }
        String[] parts = v.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new ConfigException("--" + name, v, "comma-separated integers");
            }
        }
        return out;
    }

    /** Fails on any flag no getter asked for. Call after reading every flag. */
    public void rejectUnknown() {
        for (String k : values.keySet()) {
            if (!used.contains(k)) {
                throw new ConfigException("unknown flag --" + k);
            }
        }
    }

    /** {@code --kv-cache-dtype} alone (for commands that build a KV pool without a model), validated. */
    public KvDtype kvCacheDtype() {
        return EngineConfig.kvCacheDtype(string("kv-cache-dtype", "auto"));
    }

    /** The engine flags shared by every command that runs a model. */
    public EngineConfig engine(int defaultMaxTotalTokens) {
        return EngineConfig.parse(string("backend", "vector"), integer("threads", 0), integer("page-size", 16),
                integer("max-total-tokens", defaultMaxTotalTokens), string("quantization", "none"),
                string("kv-cache-dtype", "auto"));
    }
}
