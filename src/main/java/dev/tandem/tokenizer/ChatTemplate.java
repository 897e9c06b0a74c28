package dev.tandem.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Hugging Face chat template (Jinja) rendered with Jinjava, with the globals templates expect: {@code messages},
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, {@code raise_exception} and
 * {@code strftime_now}. Blocks are trimmed as transformers does ({@code trim_blocks}, {@code lstrip_blocks}).
 */
public final class ChatTemplate {
    private final String source;
    private final String bos;
    private final String eos;
    private final Jinjava jinja;

    public ChatTemplate(String source, String bos, String eos) {
        this.source = source;
        this.bos = bos;
        this.eos = eos;
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withFailOnUnknownTokens(false).build());
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                ChatTemplate.class, "strftimeNow", String.class));
    }

    /** One chat message: role (system, user, assistant, tool) and its text. */
    public record Message(String role, String content) {
    }

    /** The prompt text for {@code messages}; with {@code addGenerationPrompt} it ends where the assistant speaks. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, null);
    }

    /**
     * As {@link #render(List, boolean)}, with the request's {@code tools} (OpenAI's list of function specs as maps)
     * in the template's {@code tools} variable, where templates that support tool calling print them.
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, List<Object> tools) {
        Map<String, Object> ctx = new HashMap<>();
        if (tools != null) {
            ctx.put("tools", tools);
        }
        ctx.put("messages", messages.stream().map(m -> Map.of("role", m.role(), "content", m.content())).toList());
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bos == null ? "" : bos);
        ctx.put("eos_token", eos == null ? "" : eos);
        RenderResult r = jinja.renderForResult(source, ctx);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                // raise_exception's own message is more useful than Jinjava's wrapper around it.
                for (Throwable c = e.getException(); c != null; c = c.getCause()) {
                    if (c instanceof TokenizerException te) {
                        throw te;
                    }
                }
                throw new TokenizerException("chat template: " + e.getMessage());
            }
        }
        return r.getOutput();
    }

    /** Called by templates to reject a conversation they cannot format. */
    public static String raiseException(String message) {
        throw new TokenizerException("chat template rejected the conversation: " + message);
    }

    /** Llama 3.1 templates print today's date with a C strftime pattern; the common specifiers suffice. */
    public static String strftimeNow(String pattern) {
        String p = pattern.replace("%d", "dd").replace("%b", "MMM").replace("%B", "MMMM").replace("%Y", "yyyy")
                .replace("%m", "MM");
        return LocalDate.now().format(DateTimeFormatter.ofPattern(p, Locale.ROOT));
    }
}
