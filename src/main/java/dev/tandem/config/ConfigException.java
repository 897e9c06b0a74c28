package dev.tandem.config;

/** A configuration value that is missing or out of range; the message names the field and the value. */
public final class ConfigException extends IllegalArgumentException {
    public ConfigException(String field, Object value, String expected) {
        super("invalid " + field + ": " + value + " (expected " + expected + ")");
    }

    public ConfigException(String message) {
        super(message);
    }
}
