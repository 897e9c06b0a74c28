package dev.tandem.config;

/**
 * {@code --metrics-names}: Tandem's own meter names only ({@code tandem}), or SGLang's Prometheus names beside them
 * ({@code sglang}: {@code sglang:num_running_reqs}, {@code sglang:time_to_first_token_seconds}, ...), so SGLang's
 * Grafana dashboards work unchanged.
 */
public enum MetricsNames {
    TANDEM, SGLANG;

    public static MetricsNames parse(String value) {
        return switch (value == null ? "tandem" : value) {
            case "tandem" -> TANDEM;
            case "sglang" -> SGLANG;
            default -> throw new ConfigException("metrics_names", value, "tandem or sglang");
        };
    }
}
