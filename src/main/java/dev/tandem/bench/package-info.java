/**
 * The {@code bench-serving} client: an open-loop load generator for any server speaking SGLang's {@code /generate}
 * streaming API, like SGLang's {@code bench_serving}. It owns the seeded workload ({@link dev.tandem.bench.Workload}),
 * the SSE event parser ({@link dev.tandem.bench.SseParser}), per-request timing ({@link dev.tandem.bench.RequestRecorder}),
 * the latency statistics ({@link dev.tandem.bench.Stats}, {@link dev.tandem.bench.BenchReport}), the report printing
 * ({@link dev.tandem.bench.ReportFormatter}) and the HTTP driver ({@link dev.tandem.bench.BenchRunner}, the JDK's
 * {@code java.net.http} client: no Vert.x here, so the measuring side shares no event loop or library with the server
 * it measures). Everything except {@code BenchRunner} is pure and unit-tested without a network.
 */
package dev.tandem.bench;
