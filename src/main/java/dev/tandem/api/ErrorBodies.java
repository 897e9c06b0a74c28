package dev.tandem.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The one mapping from an error to a response body, in SGLang's native shape or OpenAI's. */
public final class ErrorBodies {
    private ErrorBodies() {
    }

    /** SGLang's {@code /generate} errors: {@code {"error": {"message": ...}}}. */
    public static ObjectNode nativeBody(String message) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.putObject("error").put("message", message);
        return o;
    }

    /**
     * OpenAI's shape as SGLang serves it, {@code {"object":"error","message","type","param","code"}}, plus the same
     * four fields under {@code "error"}, where OpenAI puts them and where the official clients read the message
     * from (the npm client otherwise reports "400 status code (no body)").
     */
    public static ObjectNode openAiBody(int status, String message, String param) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("object", "error");
        o.put("message", message);
        o.put("type", switch (status) {
            case 401 -> "AuthenticationError";
            case 403 -> "PermissionDeniedError";
            case 404 -> "NotFoundError";
            case 503 -> "ServiceUnavailableError";
            default -> status >= 400 && status < 500 ? "BadRequestError" : "InternalServerError";
        });
        if (param == null) {
            o.putNull("param");
        } else {
            o.put("param", param);
        }
        o.put("code", status);
        ObjectNode e = o.putObject("error");
        e.put("message", message);
        e.set("type", o.get("type"));
        e.set("param", o.get("param"));
        e.put("code", status);
        return o;
    }
}
