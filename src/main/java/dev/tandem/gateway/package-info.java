/**
 * The gateway: {@link dev.tandem.gateway.GatewayVerticle} (routes), {@link dev.tandem.gateway.PdRouter} (pair, room,
 * dual dispatch), {@link dev.tandem.gateway.Exchange} (merge, relay, fail fast), the cluster-wide
 * {@link dev.tandem.gateway.WorkerRegistry} and this gateway's {@link dev.tandem.gateway.WorkerHealth}; for
 * cache_aware, {@link dev.tandem.gateway.CacheAwareSetup} wires {@link dev.tandem.gateway.PromptTokens} and the
 * {@link dev.tandem.gateway.KvEventsListener} that feeds the policy's prefix index. Pure parts:
 * {@link dev.tandem.gateway.PdInjection}, {@link dev.tandem.gateway.LogprobMerge},
 * {@link dev.tandem.gateway.RegisterRequest} and the {@code policy} package.
 */
package dev.tandem.gateway;
