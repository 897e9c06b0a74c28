/**
 * The multi-host test bed: Tandem processes in separate network namespaces (scripts/testbed.sh), each with its own
 * address, hostname and /dev/shm, so Hazelcast, the bootstrap handshake and the KV data path cross real interfaces.
 */
package dev.tandem.testbed;
