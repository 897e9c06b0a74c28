/**
 * Scheduling, pure (no Vert.x): the colocated continuous-batching scheduler ({@link
 * dev.tandem.scheduler.ColocatedScheduler}: waiting queue, running batch, chunked prefill, decode, retraction, abort),
 * the per-request state and stop rules it shares with the prefill and decode schedulers to come, and {@link
 * dev.tandem.scheduler.SchedulerLoop}, the one named thread that owns a scheduler, its model and its KV cache.
 * Outputs leave through {@link dev.tandem.scheduler.OutputSink}; metrics through {@link
 * dev.tandem.scheduler.SchedulerObserver}.
 */
package dev.tandem.scheduler;
