package dev.tandem.scheduler;

/**
 * Why a request ended, in SGLang's shapes: {@code {"type":"length","length":N}}, {@code {"type":"stop","matched":
 * id-or-string}}, {@code {"type":"abort","message":...,"status_code":...}}.
 *
 * @param matched    the stop token id (Integer) or stop string (String) for "stop", else null
 * @param statusCode HTTP status for "abort" (400 for a bad request, 500 for an engine failure)
 */
public record FinishReason(String type, int length, Object matched, String message, int statusCode) {

    public static FinishReason length(int n) {
        return new FinishReason("length", n, null, null, 0);
    }

    public static FinishReason stopToken(int id) {
        return new FinishReason("stop", 0, id, null, 0);
    }

    public static FinishReason stopString(String s) {
        return new FinishReason("stop", 0, s, null, 0);
    }

    public static FinishReason abort(String message, int statusCode) {
        return new FinishReason("abort", 0, null, message, statusCode);
    }

    public boolean isAbort() {
        return type.equals("abort");
    }
}
