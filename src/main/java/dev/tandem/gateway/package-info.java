/**
 * The gateway: {@link dev.tandem.gateway.GatewayVerticle} (routes), {@link dev.tandem.gateway.PdRouter} (pair, room,
 * dual dispatch), {@link dev.tandem.gateway.Exchange} (merge, relay, fail fast, client errors relayed as such), the
 * cluster-wide, signed {@link dev.tandem.gateway.WorkerRegistry} (TTL for registered workers),
 * {@link dev.tandem.gateway.Announcements} (sealed worker announcements) and this gateway's
 * {@link dev.tandem.gateway.WorkerHealth} (health, load, confirmation of a worker's mode, and the per-worker
 * {@link dev.tandem.gateway.CircuitBreaker} fed by the outcomes of dispatched requests);
 * {@link dev.tandem.gateway.RegistryRoutes} and {@link dev.tandem.gateway.FanOutRoutes} for the other routes; for
 * cache_aware, {@link dev.tandem.gateway.CacheAwareSetup} wires {@link dev.tandem.gateway.PromptTokens} and the
 * {@link dev.tandem.gateway.KvEventsListener} that feeds the policy's prefix index.
 *
 * <p>Trust boundary: every route passes {@link dev.tandem.gateway.HttpGuard} (keys before the body is read, body
 * limit, no uploads); every call to a worker goes through {@link dev.tandem.gateway.WorkerClient} (worker keys,
 * deadline, read cap) or PdRouter's dispatch (worker key, never the client's headers); what the gateway repeats of
 * a worker passes {@link dev.tandem.gateway.WorkerShapes}. Pure parts: {@link dev.tandem.gateway.AccessRule},
 * {@link dev.tandem.gateway.BatchCap}, {@link dev.tandem.gateway.PdInjection},
 * {@link dev.tandem.gateway.LogprobMerge}, {@link dev.tandem.gateway.RegisterRequest} and the {@code policy}
 * package.
 */
package dev.tandem.gateway;
