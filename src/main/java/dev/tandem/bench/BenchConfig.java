package dev.tandem.bench;

import dev.tandem.config.ConfigException;

import java.net.URI;
import java.util.Locale;

/**
 * What to run: {@code numPrompts} requests of {@code inputLen} random ids asking for exactly {@code outputLen} tokens,
 * arriving as a Poisson process of {@code requestRate} per second ({@link Double#POSITIVE_INFINITY}: all at once),
 * cut off after {@code timeoutS} seconds. Validated here so every caller, not only the CLI, gets errors naming the flag.
 *
 * @param url server base URL without a trailing slash, e.g. {@code http://127.0.0.1:30000}
 */
public record BenchConfig(String url, int numPrompts, double requestRate, int inputLen, int outputLen, long seed,
                          double timeoutS) {
    public BenchConfig {
        url = normalizeUrl(url);
        if (numPrompts < 1) {
            throw new ConfigException("--num-prompts", numPrompts, "an integer >= 1");
        }
        if (!(requestRate > 0)) { // also rejects NaN
            throw new ConfigException("--request-rate", requestRate, "requests/s > 0, or inf");
        }
        if (inputLen < 1) {
            throw new ConfigException("--input-len", inputLen, "an integer >= 1");
        }
        if (outputLen < 1) {
            throw new ConfigException("--output-len", outputLen, "an integer >= 1");
        }
        if (!(timeoutS > 0) || Double.isInfinite(timeoutS)) {
            throw new ConfigException("--timeout", timeoutS, "seconds > 0");
        }
    }

    /** {@code "inf"} (any case, or {@code "infinity"}) means send every request at t=0; otherwise requests/s > 0. */
    public static double parseRate(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("inf") || t.equals("infinity") || t.equals("+inf")) {
            return Double.POSITIVE_INFINITY;
        }
        double r;
        try {
            r = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new ConfigException("--request-rate", s, "requests/s > 0, or inf");
        }
        if (!(r > 0) || Double.isInfinite(r)) {
            throw new ConfigException("--request-rate", s, "requests/s > 0, or inf");
        }
        return r;
    }

    /** The rate as the user would write it: {@code inf} or the number. */
    public String rateLabel() {
        return Double.isInfinite(requestRate) ? "inf" : String.valueOf(requestRate);
    }

    private static String normalizeUrl(String url) {
        if (url == null) {
            throw new ConfigException("missing required flag --url");
        }
        String u = url.trim();
        while (u.endsWith("/")) {
            u = u.substring(0, u.length() - 1);
        }
        URI uri;
        try {
            uri = URI.create(u);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--url", url, "http://host:port");
        }
        if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
            throw new ConfigException("--url", url, "http://host:port");
        }
        return u;
    }
}
