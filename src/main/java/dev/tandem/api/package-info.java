/**
 * Wire formats, pure (no Vert.x): SGLang's {@code /generate} request and response shapes, OpenAI's completions and
 * chat completions, and the one mapping from an error to a JSON body ({@link dev.tandem.api.ErrorBodies}). Parsing
 * errors are {@link dev.tandem.api.ApiException}s that name the field and the value; parsing enforces the bounds of
 * {@link dev.tandem.api.RequestLimits} (batch × n, stop strings, ports and rooms). {@link dev.tandem.api.AccessRule}
 * is the rule for API and admin keys that workers and the gateway share.
 */
package dev.tandem.api;
