package dev.tandem.tokenizer;

/** A tokenizer file that cannot be used, or a chat template that fails; the message names the file or field. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
