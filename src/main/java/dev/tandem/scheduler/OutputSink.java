package dev.tandem.scheduler;

/**
 * Where a request's outputs go. Called on the scheduler thread, so implementations hand the output to another
 * thread (the HTTP side posts it to its event loop) and return at once.
 */
@FunctionalInterface
public interface OutputSink {
    void onOutput(RequestOutput output);
}
