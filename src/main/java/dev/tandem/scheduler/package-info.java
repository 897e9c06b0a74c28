/**
 * Scheduling, pure (no Vert.x): the colocated continuous-batching scheduler ({@link
 * dev.tandem.scheduler.ColocatedScheduler}: waiting queue, running batch, chunked prefill, decode, retraction, abort,
 * pause), the prefill and decode schedulers, the per-request state and the stop rules they share (stop strings
 * matched incrementally by {@link dev.tandem.scheduler.StopStrings}), and {@link dev.tandem.scheduler.SchedulerLoop},
 * the one named thread that owns a scheduler, its model and its KV cache (after a forward pass, the rows that only need
 * their next token pick it on the model's compute threads, {@link dev.tandem.scheduler.BatchPicker}; all else about a
 * request happens on the scheduler's thread). Aborts and pauses name their requests by
 * {@link dev.tandem.scheduler.RequestScope}. Outputs leave through {@link dev.tandem.scheduler.OutputSink}; metrics
 * through {@link dev.tandem.scheduler.SchedulerObserver}.
 */
package dev.tandem.scheduler;
