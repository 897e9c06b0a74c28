package dev.tandem.config;

/**
 * The Hazelcast cluster a process joins, when not the config file's {@code <cluster-name>}: members join only a
 * cluster of the same name, so two clusters (two deployments, a test run beside a quick start) can share one host.
 * Read from the environment so that child processes inherit it.
 */
public final class ClusterName {
    public static final String ENV = "TANDEM_CLUSTER_NAME";

    private ClusterName() {
    }

    /** The validated override, or null when {@code value} (the variable's value) is unset or empty. */
    public static String override(String value) {
        if (value == null || value.isEmpty()) {
            return null;
        }
        if (!value.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new ConfigException("$" + ENV, "\"" + value + "\"", "1-64 letters, digits, '.', '_' or '-'");
        }
        return value;
    }
}
