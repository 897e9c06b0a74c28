/**
 * The worker role as Vert.x verticles: {@link dev.tandem.worker.WorkerVerticle} serves HTTP and translates it into
 * scheduler calls; {@link dev.tandem.worker.SchedulerVerticle} owns the {@link dev.tandem.worker.WorkerEngine} (model,
 * KV cache, scheduler thread); {@link dev.tandem.worker.WorkerMainVerticle} deploys both from one config. No
 * generation runs on an event loop. At the trust boundary, {@link dev.tandem.worker.ApiKeyHandler} checks keys before
 * any body is read and {@link dev.tandem.worker.SseStream} pauses, then aborts, streams whose reader falls behind; the
 * bootstrap handshake ({@link dev.tandem.worker.PdBusAdapter}), announcements and KV events travel sealed with the
 * cluster secret (the contract itself lives in {@code dev.tandem.bus}).
 */
package dev.tandem.worker;
