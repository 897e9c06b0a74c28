/**
 * Configuration records and their validation, in one place: command-line flags ({@link dev.tandem.config.Args})
 * and engine settings ({@link dev.tandem.config.EngineConfig}). Errors name the field and the bad value.
 */
package dev.tandem.config;
