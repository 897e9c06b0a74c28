package dev.tandem.transfer.nixl;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which UCX transports an endpoint actually uses, as UCX itself reports it: {@code ucp_ep_print_info} (jucx does not
 * bind it) written into an in-memory {@code FILE*} ({@code open_memstream}) through FFM, then the lane lines reduced
 * to {@code transport/device(usage)} items, e.g. {@code sysv/memory(am,am_bw,rma) cma/memory(rma_bw)}; and which
 * lane a put to a given remote key takes ({@link #rmaPath}). Tests and the
 * benchmark record it, so "same host goes through shared memory" is checked, not assumed. Agent lock only (the
 * endpoint's worker is single-threaded).
 */
final class UcxLanes {
    /**
     * A lane line, e.g. {@code lane[2]:  5:cma/memory.0 md[4]  -> md[4]/cma/sysdev[255] rma_bw#0}: its index, its
     * transport, the peer's memory domain it reaches (index and component) and its usage words. UCX 1.13 does not
     * tag RMA lanes on this line; they are the ones with a {@link #PUT} line.
     */
    private static final Pattern LANE = Pattern.compile("lane\\[(\\d+)]:\\s+\\d+:(\\S+?)\\.\\d+\\b[^\\n]*?->\\s*"
            + "(?:addr\\[\\d+]\\.)?md\\[(\\d+)]/(\\S+?)/\\S*([^\\n]*)");
    /** {@code put[0]: 0..<short>..4294967296..<bcopy>..(inf)}: lane 0 is an RMA lane (one-sided put/get). */
    private static final Pattern PUT = Pattern.compile("\\bput\\[(\\d+)]:");
    private static final Pattern USAGE = Pattern.compile("\\b(am|am_bw|rma_bw|amo|tag|rkey_ptr|cm|wireup|keepalive)\\b");
    private static final MethodHandle PRINT;
    private static final MethodHandle OPEN_MEMSTREAM;
    private static final MethodHandle FCLOSE;
    private static final MethodHandle FREE;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        // the process already loaded libucp (jucx links it); this lookup only finds the loaded library's symbol
        SymbolLookup ucp = SymbolLookup.libraryLookup("libucp.so.0", Arena.global());
        PRINT = linker.downcallHandle(ucp.findOrThrow("ucp_ep_print_info"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        OPEN_MEMSTREAM = linker.downcallHandle(libc.findOrThrow("open_memstream"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        FCLOSE = linker.downcallHandle(libc.findOrThrow("fclose"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        FREE = linker.downcallHandle(libc.findOrThrow("free"), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    }

    private UcxLanes() {
    }

    /** UCX's own description of the endpoint {@code ep} (a {@code ucp_ep_h}). */
    static String print(long ep) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment size = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment file = (MemorySegment) OPEN_MEMSTREAM.invokeExact(buf, size);
            if (file.equals(MemorySegment.NULL)) {
                return "";
            }
            PRINT.invokeExact(MemorySegment.ofAddress(ep), file);
            int ignored = (int) FCLOSE.invokeExact(file); // flushes: buf and size are now set
            MemorySegment text = buf.get(ValueLayout.ADDRESS, 0);
            try {
                return text.reinterpret(size.get(ValueLayout.JAVA_LONG, 0) + 1).getString(0);
            } finally {
                FREE.invokeExact(text);
            }
        } catch (Throwable e) {
            return "(ucp_ep_print_info failed: " + e + ")";
        }
    }

    /** One lane of {@link #print}'s text. */
    record Lane(int index, String transport, int peerMd, String peerMdName, Set<String> usage) {
    }

    /** The lanes of {@link #print}'s text, in lane order; RMA lanes carry the usage {@code rma}. */
    static List<Lane> lanes(String printed) {
        Set<Integer> rma = new HashSet<>();
        Matcher put = PUT.matcher(printed);
        while (put.find()) {
            rma.add(Integer.parseInt(put.group(1)));
        }
        List<Lane> out = new ArrayList<>();
        Matcher m = LANE.matcher(printed);
        while (m.find()) {
            int index = Integer.parseInt(m.group(1));
            Set<String> usage = new LinkedHashSet<>();
            Matcher u = USAGE.matcher(m.group(5).replaceAll("#\\d+", ""));
            while (u.find()) {
                usage.add(u.group(1));
            }
            if (rma.contains(index)) {
                usage.add("rma");
            }
            out.add(new Lane(index, m.group(2), Integer.parseInt(m.group(3)), m.group(4), usage));
        }
        return out;
    }

    /** The lanes of {@link #print}'s text as {@code transport/device(usage,…)}, in lane order, deduplicated. */
    static String summary(String printed) {
        Set<String> out = new LinkedHashSet<>();
        for (Lane l : lanes(printed)) {
            if (!l.usage().isEmpty()) {
                out.add(l.transport() + "(" + String.join(",", l.usage()) + ")");
            }
        }
        return out.isEmpty() ? "(no lanes)" : String.join(" ", out);
    }

    /**
     * Which lane a one-sided put or get to memory with the packed remote key {@code packedRkey} takes on the endpoint
     * {@link #print} described: the first RMA lane whose peer memory domain is in the key's memory-domain map (the
     * key's first 8 bytes, little-endian, in UCX 1.13's packed form), as {@code ucp_rkey_resolve} picks it; or
     * {@code "am"} when there is none and UCX emulates the put with active messages (memory UCX did not allocate,
     * on one host: only cma, a rendezvous-only lane, can reach it).
     */
    static String rmaPath(String printed, byte[] packedRkey) {
        if (packedRkey.length < Long.BYTES) {
            return "(no key)";
        }
        long mdMap = java.nio.ByteBuffer.wrap(packedRkey, 0, Long.BYTES).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getLong();
        for (Lane l : lanes(printed)) {
            if (l.usage().contains("rma") && l.peerMd() < Long.SIZE && (mdMap & (1L << l.peerMd())) != 0) {
                return l.transport();
            }
        }
        return "am";
    }
}
