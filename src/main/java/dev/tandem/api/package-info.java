/**
 * Wire formats, pure (no Vert.x): SGLang's {@code /generate} request and response shapes, OpenAI's completions and
 * chat completions, and the one mapping from an error to a JSON body ({@link dev.tandem.api.ErrorBodies}). Parsing
 * errors are {@link dev.tandem.api.ApiException}s that name the field and the value.
 */
package dev.tandem.api;
