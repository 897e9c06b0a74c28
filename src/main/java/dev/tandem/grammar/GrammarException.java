package dev.tandem.grammar;

/** A constraint Tandem cannot compile: the message names the keyword, rule or position at fault. */
public final class GrammarException extends RuntimeException {
    public GrammarException(String message) {
        super(message);
    }
}
