package dev.tandem.api;

import dev.tandem.config.ToolCallParser;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Tool calls of one streamed chat choice, as they are generated: fed the choice's whole text so far, it returns
 * what to send since the last time — content, the start of a call (its function name, once whole and known) and
 * fragments of its arguments, as OpenAI streams them. Text is held back only while it may still turn out to be a
 * call (a partial {@code <tool_call>} tag, an object whose {@code "name"} is not whole yet); a block whose function
 * is unknown is content, as in {@link ToolCallParsing}. What was sent is never taken back: the arguments are the
 * model's own text, sent as it comes (under {@code tool_choice} required/named the grammar makes them valid).
 */
public final class ToolCallStream {
    private static final String OPEN = "<tool_call>";
    private static final String CLOSE = "</tool_call>";
    private static final String PYTHON_TAG = "<|python_tag|>";
    private final ToolCallParser parser;
    private final Set<String> functions;
    private int sentContent;
    private final List<int[]> sentArgs = new ArrayList<>(); // per started call: argument characters sent
    private final List<String> ids = new ArrayList<>();

    /** A call's delta: {@code id} and {@code name} only on its first, then argument fragments. */
    public record CallDelta(int index, String id, String name, String arguments) {
    }

    public record Delta(String content, List<CallDelta> calls) {
        public boolean isEmpty() {
            return content.isEmpty() && calls.isEmpty();
        }
    }

    public ToolCallStream(ToolCallParser parser, Set<String> functions) {
        this.parser = parser;
        this.functions = functions;
    }

    /** Calls started so far. */
    public int calls() {
        return ids.size();
    }

    /** What to send after the choice's text grew to {@code text}; {@code finished}: nothing more will come. */
    public Delta next(String text, boolean finished) {
        View v = parser == ToolCallParser.QWEN25 ? qwen(text, finished) : llama3(text, finished);
        String content = v.content.toString();
        if (!finished || !v.calls.isEmpty()) {
            // Trailing whitespace waits for what follows; around calls it is dropped, as the whole-text parser does.
            content = content.stripTrailing();
        }
        String contentDelta = content.length() > sentContent ? content.substring(sentContent) : "";
        sentContent = Math.max(sentContent, content.length());
        List<CallDelta> out = new ArrayList<>();
        for (int k = 0; k < v.calls.size(); k++) {
            Partial p = v.calls.get(k);
            if (k == ids.size()) {
                ids.add("call_" + java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 24));
                sentArgs.add(new int[1]);
                out.add(new CallDelta(k, ids.get(k), p.name, ""));
            }
            int sent = sentArgs.get(k)[0];
            if (p.args.length() > sent) {
                out.add(new CallDelta(k, null, null, p.args.substring(sent)));
                sentArgs.get(k)[0] = p.args.length();
            }
        }
        return new Delta(contentDelta, out);
    }

    /** Content so far (may be held back at the end) and the calls whose function is known. */
    private record View(StringBuilder content, List<Partial> calls) {
    }

    private record Partial(String name, String args) {
    }

    private View qwen(String text, boolean finished) {
        View v = new View(new StringBuilder(), new ArrayList<>());
        int pos = 0;
        while (true) {
            int open = text.indexOf(OPEN, pos);
            if (open < 0) {
                String tail = text.substring(pos);
                v.content.append(finished ? tail : tail.substring(0, tail.length() - heldPrefix(tail, OPEN)));
                return v;
            }
            v.content.append(text, pos, open);
            int bodyStart = open + OPEN.length();
            int close = text.indexOf(CLOSE, bodyStart);
            String body = close < 0 ? text.substring(bodyStart) : text.substring(bodyStart, close);
            Object o = object(body, "arguments", close >= 0 || finished);
            if (o instanceof Partial p) {
                v.calls.add(p);
            } else if (o == NOT_A_CALL) {
                v.content.append(text, open, close < 0 ? text.length() : close + CLOSE.length());
            } else {
                return v; // undecided: hold the block back
            }
            if (close < 0) {
                return v;
            }
            pos = close + CLOSE.length();
        }
    }

    private View llama3(String text, boolean finished) {
        View v = new View(new StringBuilder(), new ArrayList<>());
        int at = skipSpace(text, 0);
        if (text.startsWith(PYTHON_TAG, at)) {
            at = skipSpace(text, at + PYTHON_TAG.length());
        } else if (!finished && PYTHON_TAG.startsWith(text.substring(at))) {
            return v; // nothing yet, or a partial tag
        }
        if (at >= text.length()) {
            if (finished) {
                v.content.append(text);
            }
            return v;
        }
        if (text.charAt(at) != '{') {
            v.content.append(text);
            return v;
        }
        while (true) {
            int end = valueEnd(text, at);
            Object o = object(end < 0 ? text.substring(at) : text.substring(at, end), "parameters",
                    end >= 0 || finished);
            if (o instanceof Partial p) {
                v.calls.add(p);
            } else {
                if (o == NOT_A_CALL && v.calls.isEmpty()) {
                    v.content.append(text); // all or nothing, as the whole-text parser
                } else if (o == NOT_A_CALL) {
                    v.content.append(text.substring(at));
                }
                return v;
            }
            if (end < 0) {
                return v;
            }
            int next = skipSpace(text, end);
            if (next < text.length() && text.charAt(next) == ';') {
                next = skipSpace(text, next + 1);
                if (next < text.length() && text.charAt(next) == '{') {
                    at = next;
                    continue;
                }
            }
            if (next < text.length()) {
                v.content.append(text.substring(end).strip());
            }
            return v;
        }
    }

    private static final Object NOT_A_CALL = new Object();
    private static final Object UNDECIDED = new Object();

    /**
     * A call object's text so far: a {@link Partial} once {@code {"name": "known"}} is whole (arguments: the raw
     * value of {@code argsKey} so far, or of the other of arguments/parameters), {@link #NOT_A_CALL}, or
     * {@link #UNDECIDED}. {@code whole}: the object's text is complete.
     */
    private Object object(String body, String argsKey, boolean whole) {
        int i = skipSpace(body, 0);
        String[] pieces = {"{", "\"name\"", ":", "\""};
        for (String piece : pieces) {
            i = skipSpace(body, i);
            int n = Math.min(piece.length(), body.length() - i);
            if (!body.startsWith(piece.substring(0, n), i)) {
                return NOT_A_CALL;
            }
            if (n < piece.length()) {
                return whole ? NOT_A_CALL : UNDECIDED;
            }
            i += n;
        }
        int nameEnd = body.indexOf('"', i);
        if (nameEnd < 0) {
            return whole ? NOT_A_CALL : UNDECIDED;
        }
        String name = body.substring(i, nameEnd);
        if (!functions.contains(name)) {
            return NOT_A_CALL;
        }
        i = skipSpace(body, nameEnd + 1);
        if (i >= body.length()) {
            return new Partial(name, "");
        }
        if (body.charAt(i) != ',') {
            return new Partial(name, ""); // {"name": "f"} and nothing else: a call without arguments sent
        }
        i = skipSpace(body, i + 1);
        String other = argsKey.equals("arguments") ? "parameters" : "arguments";
        for (String key : new String[] {argsKey, other}) {
            String quoted = "\"" + key + "\"";
            int n = Math.min(quoted.length(), body.length() - i);
            if (body.startsWith(quoted.substring(0, n), i) && n == quoted.length()) {
                int c = skipSpace(body, i + n);
                if (c < body.length() && body.charAt(c) == ':') {
                    int start = skipSpace(body, c + 1);
                    int end = valueEnd(body, start);
                    return new Partial(name, body.substring(start, end < 0 ? body.length() : end));
                }
            }
        }
        return new Partial(name, "");
    }

    /** The index after the JSON object or array starting at {@code start}, or -1 while it is not closed. */
    static int valueEnd(String s, int start) {
        if (start >= s.length() || (s.charAt(start) != '{' && s.charAt(start) != '[')) {
            return -1;
        }
        int depth = 0;
        boolean inString = false;
        for (int i = start; i < s.length(); i++) {
            char c = s.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                return i + 1;
            }
        }
        return -1;
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** The length of the longest suffix of {@code s} that begins {@code tag}. */
    private static int heldPrefix(String s, String tag) {
        for (int n = Math.min(tag.length() - 1, s.length()); n > 0; n--) {
            if (tag.startsWith(s.substring(s.length() - n))) {
                return n;
            }
        }
        return 0;
    }
}
