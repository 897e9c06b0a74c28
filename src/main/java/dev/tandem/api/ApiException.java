package dev.tandem.api;

/**
 * A request the API refuses, with the HTTP status and a message that names the field and the value. Mapped to a
 * response body in one place ({@link ErrorBodies}).
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String param;

    public ApiException(int status, String message, String param) {
        super(message);
        this.status = status;
        this.param = param;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, message, null);
    }

    /** A 400 naming {@code field}, its value (abbreviated past 200 characters: errors never echo a huge body). */
    public static ApiException badField(String field, Object value, String rule) {
        return new ApiException(400, "Invalid " + field + ": " + abbreviate(value) + " (" + rule + ")", field);
    }

    /** {@code value} as text, cut past 200 characters. */
    public static String abbreviate(Object value) {
        String v = String.valueOf(value);
        return v.length() <= 200 ? v : v.substring(0, 200) + "... (" + v.length() + " characters)";
    }

    public int status() {
        return status;
    }

    /** The offending field, when one is to blame. */
    public String param() {
        return param;
    }
}
