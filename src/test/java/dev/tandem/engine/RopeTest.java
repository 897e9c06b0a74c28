package dev.tandem.engine;

import dev.tandem.engine.model.ModelConfig;
import dev.tandem.engine.model.Rope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class RopeTest {

    @Test
    void plainFrequenciesAndRotateHalfPairs() {
        Rope r = new Rope(8, 10000, null);
        assertEquals(1.0, r.invFreq(0), 0);
        assertEquals(Math.pow(10000, -0.25), r.invFreq(1), 1e-15);
        assertEquals(Math.pow(10000, -0.75), r.invFreq(3), 1e-15);
        float[] cos = new float[4];
        float[] sin = new float[4];
        r.angles(3, cos, sin, 0);
        float[] x = {1, 0, 0, 0, 0, 0, 0, 0};
        r.rotate(x, 0, 1, cos, sin, 0);
        // Dimension 0 pairs with dimension 4 (rotate_half), angle 3 * invFreq(0) = 3 rad.
        assertArrayEquals(new float[] {(float) Math.cos(3), 0, 0, 0, (float) Math.sin(3), 0, 0, 0}, x, 1e-7f);
    }

    @Test
    void llama3ScalingKeepsHighFrequenciesDividesLowOnesAndBlendsBetween() {
        // Llama 3.1's settings: theta 500000, factor 8, low 1, high 4, original context 8192.
        var scaling = new ModelConfig.RopeScaling(8, 1, 4, 8192);
        Rope plain = new Rope(128, 500000, null);
        Rope scaled = new Rope(128, 500000, scaling);
        // i = 0: wavelength 2π, far below 8192/4 = 2048: unchanged.
        assertEquals(plain.invFreq(0), scaled.invFreq(0), 0);
        // i = 63: wavelength ~2.6e6, above 8192: divided by the factor.
        assertEquals(plain.invFreq(63) / 8, scaled.invFreq(63), 1e-20);
        // Find an index in the blended band and check the interpolation formula by hand.
        for (int i = 0; i < 64; i++) {
            double f = plain.invFreq(i);
            double wavelen = 2 * Math.PI / f;
            if (wavelen >= 2048 && wavelen <= 8192) {
                double smooth = (8192 / wavelen - 1) / (4 - 1);
                assertEquals((1 - smooth) * f / 8 + smooth * f, scaled.invFreq(i), 1e-15, "index " + i);
            }
        }
    }
}
