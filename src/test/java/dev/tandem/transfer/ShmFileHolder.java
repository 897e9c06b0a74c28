package dev.tandem.transfer;

import dev.tandem.kvcache.ShmFile;

import java.io.IOException;

/**
 * A second process for {@link ShmSafetyTest}: {@code hold} creates a {@link ShmFile}, prints its path and keeps it
 * until killed; {@code sweep} runs {@link ShmFile#removeStale(java.time.Duration)} once, without the age guard, and prints how many files it removed.
 */
public final class ShmFileHolder {
    private ShmFileHolder() {
    }

    public static void main(String[] args) throws IOException {
        switch (args[0]) {
            case "hold" -> {
                ShmFile f = new ShmFile(ShmFile.fresh("holder", "kv"), 4096);
                System.out.println(f.path());
                System.out.flush();
                System.in.read(); // until the test kills this process (or closes our stdin)
                f.close();
            }
            case "sweep" -> System.out.println(ShmFile.removeStale(java.time.Duration.ZERO));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
