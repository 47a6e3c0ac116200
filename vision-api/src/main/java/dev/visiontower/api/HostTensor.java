package dev.visiontower.api;

import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor in Java heap memory: the exchange format between files, preprocessing and backends. Floating-point data
 * is held as float32 ({@code float[]}), integer data as int64 ({@code long[]}), images as uint8 and quantised weights
 * as int8 ({@code byte[]}).
 * Row-major (C order). Immutable by convention: do not modify the arrays returned by the accessors.
 */
public final class HostTensor {
    private final DType dtype;
    private final long[] shape;
    private final Object data;

    private HostTensor(DType dtype, long[] shape, Object data, int length) {
        this.dtype = dtype;
        this.shape = shape.clone();
        long n = Shapes.numel(this.shape);
        if (n != length) {
            throw new IllegalArgumentException("shape " + Shapes.format(shape) + " holds " + n
                    + " elements but " + length + " were given");
        }
        this.data = data;
    }

    public static HostTensor ofFloats(float[] data, long... shape) {
        return new HostTensor(DType.FLOAT32, shape, Objects.requireNonNull(data), data.length);
    }

    public static HostTensor ofLongs(long[] data, long... shape) {
        return new HostTensor(DType.INT64, shape, Objects.requireNonNull(data), data.length);
    }

    public static HostTensor ofBytes(byte[] data, long... shape) {
        return new HostTensor(DType.UINT8, shape, Objects.requireNonNull(data), data.length);
    }

    /** Signed 8-bit values (quantised weights). */
    public static HostTensor ofInt8(byte[] data, long... shape) {
        return new HostTensor(DType.INT8, shape, Objects.requireNonNull(data), data.length);
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    /** The float32 data; throws if this tensor does not hold floating-point data. */
    public float[] floats() {
        if (dtype != DType.FLOAT32) {
            throw new IllegalStateException("tensor holds " + dtype + ", not float32");
        }
        return (float[]) data;
    }

    /** The int64 data; throws if this tensor does not hold integer data. */
    public long[] longs() {
        if (dtype != DType.INT64) {
            throw new IllegalStateException("tensor holds " + dtype + ", not int64");
        }
        return (long[]) data;
    }

    /** The uint8 data (Java bytes; mask with 0xFF) or the int8 data (Java bytes as they are). */
    public byte[] bytes() {
        if (dtype != DType.UINT8 && dtype != DType.INT8) {
            throw new IllegalStateException("tensor holds " + dtype + ", not uint8 or int8");
        }
        return (byte[]) data;
    }

    /** Values widened to float32 whatever the stored dtype. */
    public float[] toFloatArray() {
        switch (dtype) {
            case FLOAT32:
                return ((float[]) data).clone();
            case INT64: {
                long[] v = (long[]) data;
                float[] out = new float[v.length];
                for (int i = 0; i < v.length; i++) {
                    out[i] = v[i];
                }
                return out;
            }
            case UINT8: {
                byte[] v = (byte[]) data;
                float[] out = new float[v.length];
                for (int i = 0; i < v.length; i++) {
                    out[i] = v[i] & 0xFF;
                }
                return out;
            }
            case INT8: {
                byte[] v = (byte[]) data;
                float[] out = new float[v.length];
                for (int i = 0; i < v.length; i++) {
                    out[i] = v[i];
                }
                return out;
            }
            default:
                throw new IllegalStateException("unexpected dtype " + dtype);
        }
    }

    /** A view with a new shape over the same data (same element count). */
    public HostTensor reshape(long... newShape) {
        int len = (int) numel();
        return new HostTensor(dtype, newShape, data, len);
    }

    /**
     * Rows {@code [start, start+count)} along dimension 0, copied.
     */
    public HostTensor slice0(long start, long count) {
        if (shape.length == 0 || start < 0 || count < 0 || start + count > shape[0]) {
            throw new IllegalArgumentException("slice [" + start + ", " + (start + count) + ") out of range for "
                    + Shapes.format(shape));
        }
        long[] s = shape.clone();
        s[0] = count;
        int row = (int) (numel() / Math.max(1, shape[0]));
        int from = (int) (start * row);
        int to = (int) ((start + count) * row);
        switch (dtype) {
            case FLOAT32: return ofFloats(Arrays.copyOfRange((float[]) data, from, to), s);
            case INT64: return ofLongs(Arrays.copyOfRange((long[]) data, from, to), s);
            case UINT8: return ofBytes(Arrays.copyOfRange((byte[]) data, from, to), s);
            case INT8: return ofInt8(Arrays.copyOfRange((byte[]) data, from, to), s);
            default: throw new IllegalStateException("unexpected dtype " + dtype);
        }
    }

    /**
     * Each row along dimension 0 divided by its L2 norm (accumulated in double, the norm floored at 1e-12, as
     * {@code torch.nn.functional.normalize}); a new float32 tensor of the same shape.
     */
    public HostTensor l2NormalizeRows() {
        float[] v = floats().clone();
        int rows = shape.length == 0 ? 1 : (int) shape[0];
        int cols = (int) (numel() / Math.max(1, rows));
        for (int r = 0; r < rows; r++) {
            normalizeInPlace(v, r * cols, cols);
        }
        return ofFloats(v, shape.clone());
    }

    /** {@code v} divided by its L2 norm, as {@link #l2NormalizeRows} does per row; a new array. */
    public static float[] l2Normalize(float[] v) {
        float[] out = v.clone();
        normalizeInPlace(out, 0, out.length);
        return out;
    }

    private static void normalizeInPlace(float[] v, int from, int n) {
        double s = 0;
        for (int i = from; i < from + n; i++) {
            s += (double) v[i] * v[i];
        }
        double norm = Math.max(Math.sqrt(s), 1e-12);
        for (int i = from; i < from + n; i++) {
            v[i] = (float) (v[i] / norm);
        }
    }

    /** Stacks equally shaped float tensors along a new (or the existing first) dimension 0. */
    public static HostTensor concat0(java.util.List<HostTensor> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to concatenate");
        }
        long[] first = parts.get(0).shape();
        long rows = 0;
        int total = 0;
        for (HostTensor p : parts) {
            long[] s = p.shape();
            if (s.length != first.length || !Arrays.equals(Arrays.copyOfRange(s, 1, s.length),
                    Arrays.copyOfRange(first, 1, first.length))) {
                throw new IllegalArgumentException("cannot concatenate " + Shapes.format(s) + " with "
                        + Shapes.format(first));
            }
            rows += s[0];
            total += (int) p.numel();
        }
        float[] out = new float[total];
        int pos = 0;
        for (HostTensor p : parts) {
            float[] f = p.floats();
            System.arraycopy(f, 0, out, pos, f.length);
            pos += f.length;
        }
        long[] s = first.clone();
        s[0] = rows;
        return ofFloats(out, s);
    }

    @Override
    public String toString() {
        return "HostTensor" + Shapes.format(shape) + " " + dtype;
    }
}
