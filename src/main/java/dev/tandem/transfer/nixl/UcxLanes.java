package dev.tandem.transfer.nixl;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which UCX transports an endpoint actually uses, as UCX itself reports it: {@code ucp_ep_print_info} (jucx does not
 * bind it) written into an in-memory {@code FILE*} ({@code open_memstream}) through FFM, then the lane lines reduced
 * to {@code transport/device(usage)} items, e.g. {@code cma/memory(rma_bw) sysv/memory(am)}. Tests and the
 * benchmark record it, so "same host goes through shared memory" is checked, not assumed. Agent thread only (the
 * endpoint's worker is single-threaded).
 */
final class UcxLanes {
    /** e.g. {@code lane[1]:  5:cma/memory.0 md2  rma_bw#0} or {@code lane[0]: 3:sysv/memory.0 ... am am_bw#0 wireup}. */
    private static final Pattern LANE = Pattern.compile("lane\\[\\d+]:\\s+\\d+:(\\S+?)\\.\\d+\\b[^\\n]*?((?:\\s+"
            + "(?:am|am_bw|rma|rma_bw|amo|tag|rkey_ptr|cm|wireup|keepalive)\\S*)+)");
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

    /** The lanes of {@link #print}'s text as {@code transport/device(usage,…)}, in lane order, deduplicated. */
    static String summary(String printed) {
        Set<String> out = new LinkedHashSet<>();
        Matcher m = LANE.matcher(printed);
        while (m.find()) {
            String usage = m.group(2).trim().replaceAll("#\\d+", "").replaceAll("\\s+", ",");
            out.add(m.group(1) + "(" + usage + ")");
        }
        return out.isEmpty() ? "(no lanes)" : String.join(" ", out);
    }
}
