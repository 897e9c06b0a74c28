/**
 * The contract between roles on the event bus, shared by {@code worker} and {@code gateway} (neither imports the
 * other): every address ({@link dev.tandem.bus.BusAddresses}), the bootstrap messages' JSON codec
 * ({@link dev.tandem.bus.PdCodec}), and message signing with the cluster secret ({@link dev.tandem.bus.BusSigner}).
 */
package dev.tandem.bus;
