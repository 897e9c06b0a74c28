package dev.tandem.engine.weights;

/** A model directory that cannot be loaded; the message names the file and the field or tensor at fault. */
public final class WeightsException extends RuntimeException {
    public WeightsException(String message) {
        super(message);
    }

    public WeightsException(String message, Throwable cause) {
        super(message, cause);
    }
}
