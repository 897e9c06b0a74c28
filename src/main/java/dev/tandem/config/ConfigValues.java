package dev.tandem.config;

import java.util.Map;

/**
 * One configuration value, read the one way every config of a worker reads it: the command-line flag when given,
 * else the JSON key, else the default; a JSON value of the wrong type is refused naming its key.
 */
record ConfigValues(Map<String, Object> json, Args cli) {
    String string(String key, String flag, String dflt) {
        if (cli != null && cli.has(flag)) {
            return cli.string(flag, dflt);
        }
        Object o = json.get(key);
        if (o == null) {
            return dflt;
        }
        if (!(o instanceof String s)) {
            throw new ConfigException(key, o, "a string");
        }
        return s;
    }

    double number(String key, String flag, double dflt) {
        if (cli != null && cli.has(flag)) {
            return cli.number(flag, (float) dflt);
        }
        Object o = json.get(key);
        if (o == null) {
            return dflt;
        }
        if (!(o instanceof Number n)) {
            throw new ConfigException(key, o, "a number");
        }
        return n.doubleValue();
    }

    boolean bool(String key, String flag, boolean dflt) {
        if (cli != null && cli.has(flag)) {
            return cli.flag(flag);
        }
        Object o = json.get(key);
        if (o == null) {
            return dflt;
        }
        if (!(o instanceof Boolean b)) {
            throw new ConfigException(key, o, "true or false");
        }
        return b;
    }

    int integer(String key, String flag, int dflt) {
        if (cli != null && cli.has(flag)) {
            return cli.integer(flag, dflt);
        }
        Object o = json.get(key);
        if (o == null) {
            return dflt;
        }
        if (!(o instanceof Number n) || n.doubleValue() != n.intValue()) {
            throw new ConfigException(key, o, "an integer");
        }
        return n.intValue();
    }
}
