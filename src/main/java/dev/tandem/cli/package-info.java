/**
 * Command-line subcommands ({@code generate}, the {@code bench-*} measurements, {@code make-tiny-model}, ...): parse flags through
 * {@link dev.tandem.config.Args}, call the engine, print. Printing lives here, never in the engine.
 */
package dev.tandem.cli;
