package dev.tandem.cli;

import dev.tandem.engine.compute.AttentionBatch;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import static dev.tandem.config.ComputeBackendKind.VECTOR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bench-kernel: its figures are only printed for a kernel whose output matched a float64 product (here on a shape
 * with a partial last panel and a batch that is not a multiple of the tile), its streamed set really is distinct
 * weights filling {@code --stream-mb}, its self-check does catch a wrong product, and bad arguments are errors that
 * name the field.
 */
class BenchKernelCommandTest {

    @Test
    void aRaggedShapeIsCheckedAndMeasuredInBothRegimes() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc = BenchKernelCommand.run(new String[] {"--rows", "40", "--in", "34", "--tokens", "13", "--runs", "1",
                "--stream-mb", "1", "--probe-mb", "1", "--threads", "2"}, new PrintStream(buf, true,
                StandardCharsets.UTF_8));
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, out);
        assertTrue(out.contains("weight 40x34 BF16"), out);
        assertTrue(out.contains("13 tokens"), out);
        assertTrue(out.contains("resident (1 weight, again and again):"), out);
        // 1 MB of 40x34 BF16 weights as the kernel reads them (3 panels of 16 rows: 3264 bytes each): 321 distinct
        // copies, each read once a round.
        assertTrue(out.contains("streamed (321 weights,"), out);
        assertTrue(out.contains("% of the read floor"), out);
    }

    @Test
    void theInt8KernelIsCheckedAgainstTheSameProduct() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc = BenchKernelCommand.run(new String[] {"--rows", "40", "--in", "34", "--tokens", "6", "--runs", "1",
                "--stream-mb", "1", "--probe-mb", "1", "--threads", "2", "--quantization", "int8"},
                new PrintStream(buf, true, StandardCharsets.UTF_8));
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, out);
        assertTrue(out.contains("int8 weights"), out);
        assertTrue(out.contains("weight 40x34 int8"), out);
        // 3 panels of 16 rows x 34 one-byte codes + 48 float scales: 1824 bytes, 574 copies in 1 MB.
        assertTrue(out.contains("streamed (574 weights,"), out);
    }

    @Test
    void theSelfCheckRejectsAWrongProduct() {
        try (ComputeBackend good = ComputeBackends.create(VECTOR, 2); Arena arena = Arena.ofShared()) {
            int rows = 24;
            int in = 16;
            MemorySegment s = arena.allocate(2L * rows * in, 64);
            for (int i = 0; i < rows * in; i++) {
                s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, (short) (Float.floatToRawIntBits(0.01f * (i % 7)) >>> 16));
            }
            Tensor w = new Tensor("w", DType.BF16, new long[] {rows, in}, s);
            good.prepare(w); // the panel kernels, as the command runs them
            float[] x = new float[3 * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = 1f + i % 5;
            }
            float[] out = new float[3 * rows];
            BenchKernelCommand.check(good, w, x, 3, out); // the real kernel passes
            ComputeBackend offByOneRow = new ComputeBackend() {
                @Override
                public String name() {
                    return "corrupting";
                }

                @Override
                public void matmul(Tensor t, float[] xs, int n, float[] o) {
                    good.matmul(t, xs, n, o);
                    o[rows + 17] += 0.5f; // token 1, row 17
                }

                @Override
                public void attention(AttentionBatch batch) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public void close() {
                }
            };
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> BenchKernelCommand.check(offByOneRow, w, x, 3, out));
            assertTrue(e.getMessage().contains("token 1, row 17"), e.getMessage());
        }
    }

    @Test
    void badArgumentsNameTheField() {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        IllegalArgumentException tokens = assertThrows(IllegalArgumentException.class,
                () -> BenchKernelCommand.run(new String[] {"--tokens", "0"}, sink));
        assertEquals("--tokens must be at least 1, got 0", tokens.getMessage());
        RuntimeException q = assertThrows(RuntimeException.class,
                () -> BenchKernelCommand.run(new String[] {"--quantization", "int4"}, sink));
        assertTrue(q.getMessage().contains("quantization") && q.getMessage().contains("int4"), q.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> BenchKernelCommand.run(new String[] {"--colums", "5"}, sink));
        assertTrue(unknown.getMessage().contains("colums"), unknown.getMessage());
    }
}
