/**
 * Routing policies, pure: one interface ({@link dev.tandem.gateway.policy.Policy}), one class per policy, chosen by
 * name in {@link dev.tandem.gateway.policy.Policies}. The gateway holds one for the prefill pool and one for the
 * decode pool and feeds them the healthy workers with their loads, and the prompt's token ids when a policy asks
 * for them ({@link dev.tandem.gateway.policy.CacheAwarePolicy} over a {@link dev.tandem.gateway.policy.PrefixIndex}
 * of the workers' KV events).
 */
package dev.tandem.gateway.policy;
