package dev.visiontower.api;

import java.util.Arrays;

/** Small helpers for shapes given as {@code long[]}. */
public final class Shapes {
    private Shapes() {
    }

    /** Number of elements; throws when it overflows or a dimension is negative. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + format(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Total number of elements of a set of shapes (e.g. a model's parameter shapes); throws on overflow. */
    public static long totalNumel(java.util.Collection<long[]> shapes) {
        long n = 0;
        for (long[] s : shapes) {
            n = Math.addExact(n, numel(s));
        }
        return n;
    }

    /** {@code [2, 3, 224, 224]}. */
    public static String format(long[] shape) {
        return Arrays.toString(shape);
    }

    public static String format(int[] shape) {
        return Arrays.toString(shape);
    }

    public static long[] of(long... dims) {
        return dims.clone();
    }
}
