package dev.visiontower.conformance;

import dev.visiontower.api.DType;
import dev.visiontower.api.Tolerance;

/**
 * The kit's acceptance rules, in one place. Values are compared with {@code |a - b| <= atol + rtol * |b|}
 * ({@link Tolerance#forDType}, per compute dtype: float32 {@code 1e-4 + 1e-4|b|}, TF32 {@code 5e-3}, float16 {@code 1e-2},
 * bfloat16 {@code 5e-2}, int8 products {@code 0.15 + 0.15|b|}); pooled embeddings must in addition have a cosine
 * similarity of at least {@link #MIN_COSINE} to the reference ({@link #MIN_COSINE_HALF} in 16 bits,
 * {@link Tolerance#INT8_MIN_COSINE} with int8 products).
 */
public final class Tolerances {
    /** Smallest acceptable cosine similarity of pooled embeddings. */
    public static final double MIN_COSINE = 0.9999;
    /** Smallest acceptable cosine similarity in bfloat16 / float16. */
    public static final double MIN_COSINE_HALF = 0.999;

    private Tolerances() {
    }

    public static double minCosine(DType compute) {
        switch (compute) {
            case FLOAT32: return MIN_COSINE;
            case INT8: return Tolerance.INT8_MIN_COSINE;
            default: return MIN_COSINE_HALF;
        }
    }
}
