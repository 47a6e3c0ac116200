package dev.visiontower.api.image;

import dev.visiontower.api.InvalidInputException;

/** Resampling filters of PIL's {@code Image.resize}, with PIL's support and kernels. */
public enum ResampleFilter {
    /** PIL {@code BILINEAR} (triangle, support 1). */
    BILINEAR(1.0),
    /** PIL {@code BICUBIC} (cubic convolution a = -0.5, support 2). */
    BICUBIC(2.0);

    private final double support;

    ResampleFilter(double support) {
        this.support = support;
    }

    public double support() {
        return support;
    }

    double weight(double x) {
        double ax = Math.abs(x);
        if (this == BILINEAR) {
            return ax < 1.0 ? 1.0 - ax : 0.0;
        }
        final double a = -0.5;
        if (ax < 1.0) {
            return ((a + 2.0) * ax - (a + 3.0)) * ax * ax + 1;
        }
        if (ax < 2.0) {
            return (((ax - 5) * ax + 8) * ax - 4) * a;
        }
        return 0.0;
    }

    /** Maps PIL's resample codes as used in {@code preprocessor_config.json} (2 bilinear, 3 bicubic). */
    public static ResampleFilter fromPilCode(int code) {
        switch (code) {
            case 2: return BILINEAR;
            case 3: return BICUBIC;
            default:
                throw new InvalidInputException("unsupported resample code " + code
                        + " in preprocessor config, expected 2 (bilinear) or 3 (bicubic)");
        }
    }
}
