/**
 * Metrics: every meter name ({@link dev.tandem.metrics.Meters}), the worker's scheduler meters
 * ({@link dev.tandem.metrics.WorkerMetrics}) and the Prometheus registry that also carries Vert.x's HTTP and event
 * bus meters ({@link dev.tandem.metrics.MetricsSetup}).
 */
package dev.tandem.metrics;
