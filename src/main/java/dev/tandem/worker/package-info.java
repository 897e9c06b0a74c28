/**
 * The worker role as Vert.x verticles: {@link dev.tandem.worker.WorkerVerticle} serves HTTP and translates it into
 * scheduler calls; {@link dev.tandem.worker.SchedulerVerticle} owns the {@link dev.tandem.worker.WorkerEngine} (model,
 * KV cache, scheduler thread); {@link dev.tandem.worker.WorkerMainVerticle} deploys both from one config. No
 * generation runs on an event loop.
 */
package dev.tandem.worker;
