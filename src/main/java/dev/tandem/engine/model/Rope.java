package dev.tandem.engine.model;

/**
 * Rotary position embedding in the Hugging Face layout ("rotate_half": dimension {@code i} pairs with
 * {@code i + headDim/2}), with optional Llama 3 frequency scaling.
 */
public final class Rope {
    private final int half;
    private final double[] invFreq; // [headDim / 2]

    public Rope(int headDim, double theta, ModelConfig.RopeScaling scaling) {
        this.half = headDim / 2;
        this.invFreq = new double[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        }
        if (scaling != null) {
            applyLlama3(scaling);
        }
    }

    /** Llama 3.1: long wavelengths slow down by {@code factor}, short ones stay, the band between is interpolated. */
    private void applyLlama3(ModelConfig.RopeScaling s) {
        double lowFreqWavelen = s.originalMaxPositions() / s.lowFreqFactor();
        double highFreqWavelen = s.originalMaxPositions() / s.highFreqFactor();
        for (int i = 0; i < half; i++) {
            double wavelen = 2 * Math.PI / invFreq[i];
            if (wavelen > lowFreqWavelen) {
                invFreq[i] = invFreq[i] / s.factor();
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor())
                        / (s.highFreqFactor() - s.lowFreqFactor());
                invFreq[i] = (1 - smooth) * invFreq[i] / s.factor() + smooth * invFreq[i];
            }
        }
    }

    public double invFreq(int i) {
        return invFreq[i];
    }

    /** Fills {@code cos[off .. off + headDim/2)} and {@code sin[...]} for {@code position}. */
    public void angles(int position, float[] cos, float[] sin, int off) {
        for (int i = 0; i < half; i++) {
            double a = position * invFreq[i];
            cos[off + i] = (float) Math.cos(a);
            sin[off + i] = (float) Math.sin(a);
        }
    }

    /**
     * Rotates {@code heads} heads of one token in place: {@code x[off + h*headDim ..]}, with that token's angles at
     * {@code cos/sin[angleOff ..]}.
     */
    public void rotate(float[] x, int off, int heads, float[] cos, float[] sin, int angleOff) {
        int headDim = 2 * half;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float c = cos[angleOff + i];
                float s = sin[angleOff + i];
                float a = x[base + i];
                float b = x[base + i + half];
                x[base + i] = a * c - b * s;
                x[base + i + half] = b * c + a * s;
            }
        }
    }
}
