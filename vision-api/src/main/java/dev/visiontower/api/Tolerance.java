package dev.visiontower.api;

import java.util.Arrays;

/**
 * A numerical tolerance {@code |a - b| <= atol + rtol * |b|} ({@code b} the expected value), the one rule every
 * parity check in visiontower uses. Per-dtype defaults live here and nowhere else.
 *
 * @param atol absolute part
 * @param rtol relative part (scaled by the expected value's magnitude)
 */
public record Tolerance(double atol, double rtol) {

    /** float32 against references computed in float32 (golden fixtures, other float32 backends). */
    public static final Tolerance FLOAT32 = new Tolerance(1e-4, 1e-4);
    /** TF32 matrix products (10-bit mantissa inputs). */
    public static final Tolerance TF32 = new Tolerance(5e-3, 5e-3);
    /** float16 compute. */
    public static final Tolerance FLOAT16 = new Tolerance(1e-2, 1e-2);
    /** bfloat16 compute (8-bit mantissa). */
    public static final Tolerance BFLOAT16 = new Tolerance(5e-2, 5e-2);
    /**
     * int8 products (weights per channel, activations per product): each product's error is about 1/255 of its
     * input's range, so values are held loosely and the embeddings' direction strictly (checks of int8 results also
     * require a cosine of at least {@link #INT8_MIN_COSINE} to the float reference).
     */
    public static final Tolerance INT8 = new Tolerance(1.5e-1, 1.5e-1);
    /** Smallest cosine of int8 embeddings to float32 ones that int8 results are held to. */
    public static final double INT8_MIN_COSINE = 0.999;

    public Tolerance {
        if (atol < 0 || rtol < 0) {
            throw new IllegalArgumentException("tolerances must be >= 0");
        }
    }

    /** The default tolerance for computing in {@code dtype}. */
    public static Tolerance forDType(DType dtype) {
        switch (dtype) {
            case FLOAT16: return FLOAT16;
            case BFLOAT16: return BFLOAT16;
            case INT8: return INT8;
            default: return FLOAT32;
        }
    }

    /**
     * Result of comparing two tensors.
     *
     * @param ok          every element within tolerance (and shapes equal)
     * @param maxAbs      largest absolute difference
     * @param maxRel      largest {@code |a-b| / |b|} over elements with {@code b != 0}
     * @param worstIndex  flat index of the element furthest outside (or closest to) the tolerance
     * @param cosine      cosine similarity of the two tensors as flat vectors
     * @param message     a one-line summary
     */
    public record Comparison(boolean ok, double maxAbs, double maxRel, long worstIndex, double cosine, String message) {
    }

    public Comparison compare(HostTensor actual, HostTensor expected) {
        if (!Arrays.equals(actual.shape(), expected.shape())) {
            return new Comparison(false, Double.NaN, Double.NaN, -1, Double.NaN, "shape "
                    + Shapes.format(actual.shape()) + " != expected " + Shapes.format(expected.shape()));
        }
        float[] a = actual.toFloatArray();
        float[] b = expected.toFloatArray();
        double maxAbs = 0;
        double maxRel = 0;
        double worstRatio = -1;
        long worst = -1;
        double dot = 0;
        double na = 0;
        double nb = 0;
        boolean ok = true;
        for (int i = 0; i < a.length; i++) {
            double x = a[i];
            double y = b[i];
            double d = Math.abs(x - y);
            if (Double.isNaN(d)) {
                d = Double.isNaN(x) && Double.isNaN(y) ? 0 : Double.POSITIVE_INFINITY;
            }
            double bound = atol + rtol * Math.abs(y);
            double ratio = d / bound;
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
            }
            if (!(d <= bound)) {
                ok = false;
            }
            maxAbs = Math.max(maxAbs, d);
            if (y != 0) {
                maxRel = Math.max(maxRel, d / Math.abs(y));
            }
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        double cos = na == 0 || nb == 0 ? (na == nb ? 1 : 0) : dot / Math.sqrt(na * nb);
        String msg = String.format(java.util.Locale.ROOT, "%s max|a-b|=%.3g max rel=%.3g cos=%.8f (atol %.1g, rtol %.1g)%s",
                ok ? "ok" : "MISMATCH", maxAbs, maxRel, cos, atol, rtol,
                ok || worst < 0 ? "" : String.format(java.util.Locale.ROOT, "; worst at flat index %d: got %.7g, expected %.7g",
                        worst, a[(int) worst], b[(int) worst]));
        return new Comparison(ok, maxAbs, maxRel, worst, cos, msg);
    }
}
