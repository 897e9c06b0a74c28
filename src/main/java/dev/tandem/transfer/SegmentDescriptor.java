package dev.tandem.transfer;

/**
 * How a peer reaches a registered memory segment: over shared memory when it is on the same host (the segment is
 * a file under {@code /dev/shm} it can map), over TCP otherwise. Crosses the event bus inside bootstrap messages
 * (signed there: the signature is what lets a peer trust {@code shmPath} and {@code fileId}).
 *
 * @param name    the segment's name within its owner's transfer engine
 * @param hostId  identifies the owner's host (hostname and boot id); equal ids mean shared memory is possible
 * @param shmPath the file backing the segment, or null when it is not file-backed
 * @param tcpHost the owner's transfer server address
 * @param tcpPort the owner's transfer server port
 * @param bytes   the segment's size (the file's size, when file-backed)
 * @param fileId  the backing file's identity at registration ({@code device:inode}), or null when not file-backed:
 *                a peer maps the file only while it is still that very file
 * @param nixl    for the nixl backend, the owning agent's metadata and the segment's UCX registration; null for
 *                every other backend (which is how a nixl engine and a mooncake one tell they cannot pair)
 */
public record SegmentDescriptor(String name, String hostId, String shmPath, String tcpHost, int tcpPort,
                                long bytes, String fileId, AgentMemory nixl) {
    /** A descriptor of a backend other than nixl. */
    public SegmentDescriptor(String name, String hostId, String shmPath, String tcpHost, int tcpPort, long bytes,
                             String fileId) {
        this(name, hostId, shmPath, tcpHost, tcpPort, bytes, fileId, null);
    }

    /** A descriptor without a file identity: peers will not map its file (they use TCP). */
    public SegmentDescriptor(String name, String hostId, String shmPath, String tcpHost, int tcpPort, long bytes) {
        this(name, hostId, shmPath, tcpHost, tcpPort, bytes, null);
    }
}
