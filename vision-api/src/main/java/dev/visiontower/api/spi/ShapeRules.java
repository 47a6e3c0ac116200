package dev.visiontower.api.spi;

import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Shapes;

import java.util.Arrays;
import java.util.List;

/**
 * The shape rules of {@link dev.visiontower.api.Ops}, and their error messages, in one place for every backend:
 * each method checks its operands' shapes and returns the result's shape, or throws an {@link InvalidInputException}
 * whose message is the same whichever backend calls it. Backends call these before any native work, so a wrong shape
 * never reaches native code and the same mistake reads the same everywhere (the conformance kit checks that).
 */
public final class ShapeRules {
    private ShapeRules() {
    }

    private static InvalidInputException bad(String op, String what) {
        return new InvalidInputException(op + ": " + what);
    }

    /** A dimension index in {@code [-rank, rank)}, made non-negative. */
    public static int dim(String op, int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw bad(op, "dimension " + dim + " is out of range for rank " + rank);
        }
        return d;
    }

    /** The shape of a reduction over dimension {@code dim} (the dimension dropped). */
    public static long[] reduce(String op, long[] in, int dim) {
        int d = dim(op, dim, in.length);
        long[] out = new long[in.length - 1];
        for (int i = 0, j = 0; i < in.length; i++) {
            if (i != d) {
                out[j++] = in[i];
            }
        }
        return out;
    }

    /** Numpy broadcasting of two shapes. */
    public static long[] broadcast(String op, long[] a, long[] b) {
        int n = Math.max(a.length, b.length);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long x = i < n - a.length ? 1 : a[i - (n - a.length)];
            long y = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (x != y && x != 1 && y != 1) {
                throw bad(op, "shapes " + Shapes.format(a) + " and " + Shapes.format(b) + " do not broadcast");
            }
            out[i] = x == 1 ? y : x;
        }
        return out;
    }

    /** {@code x [..., K] @ weight [N, K]^T + bias [N]}: {@code [..., N]}; {@code bias} may be null. */
    public static long[] linear(long[] x, long[] weight, long[] bias) {
        if (weight.length != 2 || x.length == 0 || x[x.length - 1] != weight[1]) {
            throw bad("linear", "input " + Shapes.format(x) + " does not match weight " + Shapes.format(weight)
                    + " (expected weight [N, " + (x.length == 0 ? "K" : x[x.length - 1]) + "])");
        }
        if (bias != null && (bias.length != 1 || bias[0] != weight[0])) {
            throw bad("linear", "bias " + Shapes.format(bias) + " does not match weight " + Shapes.format(weight)
                    + " (expected [" + weight[0] + "])");
        }
        long[] out = x.clone();
        out[out.length - 1] = weight[0];
        return out;
    }

    /** Batched {@code [..., n, k] x [..., k, m]} with broadcast batch dimensions. */
    public static long[] matmul(long[] a, long[] b) {
        if (a.length < 2 || b.length < 2 || a[a.length - 1] != b[b.length - 2]) {
            throw bad("matmul", "shapes " + Shapes.format(a) + " and " + Shapes.format(b)
                    + " do not multiply ([..., n, k] x [..., k, m])");
        }
        long[] batch = broadcast("matmul", Arrays.copyOf(a, a.length - 2), Arrays.copyOf(b, b.length - 2));
        long[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = a[a.length - 2];
        out[batch.length + 1] = b[b.length - 1];
        return out;
    }

    /**
     * Attention on {@code q [B, H, Nq, D]}, {@code k [B, H, Nk, D]}, {@code v [B, H, Nk, Dv]} with an optional mask
     * broadcastable to {@code [B, H, Nq, Nk]}: {@code [B, H, Nq, Dv]}.
     */
    public static long[] attention(long[] q, long[] k, long[] v, long[] mask) {
        if (q.length != 4 || k.length != 4 || v.length != 4 || q[0] != k[0] || q[0] != v[0] || q[1] != k[1]
                || q[1] != v[1] || q[3] != k[3] || k[2] != v[2]) {
            throw bad("attention", "q " + Shapes.format(q) + ", k " + Shapes.format(k) + ", v " + Shapes.format(v)
                    + " do not match ([B, H, Nq, D], [B, H, Nk, D], [B, H, Nk, Dv])");
        }
        long[] scores = {q[0], q[1], q[2], k[2]};
        if (mask != null) {
            boolean fits = mask.length <= 4;
            for (int i = 0; fits && i < mask.length; i++) {
                long m = mask[i];
                long s = scores[4 - mask.length + i];
                fits = m == 1 || m == s;
            }
            if (!fits) {
                throw bad("attention", "mask " + Shapes.format(mask) + " does not broadcast to the scores "
                        + Shapes.format(scores));
            }
        }
        return new long[] {q[0], q[1], q[2], v[3]};
    }

    /** A new shape for {@code in} (one dimension may be {@code -1}). */
    public static long[] reshape(long[] in, long[] shape) {
        long n = Shapes.numel(in);
        long known = 1;
        int free = -1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (free >= 0) {
                    throw bad("reshape", "only one dimension may be -1 in " + Shapes.format(shape));
                }
                free = i;
            } else if (shape[i] < 0) {
                throw bad("reshape", "negative size in " + Shapes.format(shape));
            } else {
                known = Math.multiplyExact(known, shape[i]);
            }
        }
        long[] out = shape.clone();
        if (free >= 0) {
            if (known == 0 || n % known != 0) {
                throw bad("reshape", "cannot reshape " + Shapes.format(in) + " (" + n + " elements) to "
                        + Shapes.format(shape));
            }
            out[free] = n / known;
        } else if (known != n) {
            throw bad("reshape", "cannot reshape " + Shapes.format(in) + " (" + n + " elements) to "
                    + Shapes.format(shape));
        }
        return out;
    }

    /** {@code in} with its dimensions reordered. */
    public static long[] permute(long[] in, int[] dims) {
        if (dims.length != in.length) {
            throw bad("permute", dims.length + " dimensions given for rank " + in.length);
        }
        boolean[] seen = new boolean[in.length];
        long[] out = new long[in.length];
        for (int i = 0; i < dims.length; i++) {
            int d = dims[i] < 0 ? dims[i] + in.length : dims[i];
            if (d < 0 || d >= in.length || seen[d]) {
                throw bad("permute", Arrays.toString(dims) + " is not a permutation of the " + in.length
                        + " dimensions");
            }
            seen[d] = true;
            out[i] = in[d];
        }
        return out;
    }

    /** {@code length} entries of dimension {@code dim} from {@code start}. */
    public static long[] narrow(long[] in, int dim, long start, long length) {
        int d = dim("narrow", dim, in.length);
        if (start < 0 || length < 0 || start + length > in[d]) {
            throw bad("narrow", "[" + start + ", " + (start + length) + ") is outside dimension " + d + " of "
                    + Shapes.format(in));
        }
        long[] out = in.clone();
        out[d] = length;
        return out;
    }

    /** Tensors joined along {@code dim}; all other dimensions must agree. */
    public static long[] concat(List<long[]> parts, int dim) {
        if (parts.isEmpty()) {
            throw bad("concat", "no tensors");
        }
        long[] first = parts.get(0);
        int d = dim("concat", dim, first.length);
        long[] out = first.clone();
        for (int i = 1; i < parts.size(); i++) {
            long[] s = parts.get(i);
            boolean fits = s.length == first.length;
            for (int j = 0; fits && j < s.length; j++) {
                fits = j == d || s[j] == first[j];
            }
            if (!fits) {
                throw bad("concat", "tensor " + i + " " + Shapes.format(s) + " does not fit " + Shapes.format(first)
                        + " outside dimension " + d);
            }
            out[d] += s[d];
        }
        return out;
    }

    /** {@code in} broadcast to {@code shape} ({@code -1} keeps a dimension). */
    public static long[] expand(long[] in, long[] shape) {
        if (shape.length < in.length) {
            throw bad("expand", Shapes.format(shape) + " has fewer dimensions than " + Shapes.format(in));
        }
        long[] out = shape.clone();
        int lead = shape.length - in.length;
        for (int i = 0; i < shape.length; i++) {
            if (i < lead) {
                if (shape[i] < 0) {
                    throw bad("expand", "-1 is not allowed for a new leading dimension in " + Shapes.format(shape));
                }
                continue;
            }
            long have = in[i - lead];
            if (shape[i] == -1) {
                out[i] = have;
            } else if (have != 1 && have != shape[i]) {
                throw bad("expand", Shapes.format(in) + " cannot be expanded to " + Shapes.format(shape));
            }
        }
        return out;
    }

    /**
     * Pixels {@code [B, C, H, W]} through a patch projection {@code [D, C, p, p]} with stride {@code p}:
     * {@code [B, (H/p)(W/p), D]}, a remainder of rows or columns dropped as a strided convolution does.
     */
    public static long[] patchEmbed(long[] pixels, long[] weight, int patch) {
        if (pixels.length != 4 || weight.length != 4 || patch <= 0 || pixels[1] != weight[1] || weight[2] != patch
                || weight[3] != patch || pixels[2] < patch || pixels[3] < patch) {
            throw bad("patchEmbed", "pixels " + Shapes.format(pixels) + " and weight " + Shapes.format(weight)
                    + " do not fit patch size " + patch + " (expected [B, C, H, W] with H and W at least " + patch
                    + ", and [D, C, " + patch + ", " + patch + "])");
        }
        return new long[] {pixels[0], (pixels[2] / patch) * (pixels[3] / patch), weight[0]};
    }

    /** Rows of a {@code [V, D]} table for ids of any shape: {@code ids.shape + [D]}. */
    public static long[] embedding(long[] table, long[] ids) {
        if (table.length != 2) {
            throw bad("embedding", "the table must be [V, D], got " + Shapes.format(table));
        }
        long[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = table[1];
        return out;
    }

    /** One row per batch entry: {@code x [B, N, ...]}, {@code index [B]}: {@code [B, ...]}. */
    public static long[] gatherRows(long[] x, long[] index) {
        if (x.length < 2 || index.length != 1 || index[0] != x[0]) {
            throw bad("gatherRows", "x " + Shapes.format(x) + " and index " + Shapes.format(index)
                    + " do not match ([B, N, ...] and [B])");
        }
        long[] out = new long[x.length - 1];
        out[0] = x[0];
        System.arraycopy(x, 2, out, 1, x.length - 2);
        return out;
    }

    /** An additive mask {@code [B, 1, 1, N]} from {@code keep [B, N]}. */
    public static long[] paddingMask(long[] keep) {
        if (keep.length != 2) {
            throw bad("paddingMask", "keep must be [B, N], got " + Shapes.format(keep));
        }
        return new long[] {keep[0], 1, 1, keep[1]};
    }

    /** The diagonal {@code [N]} of a square matrix. */
    public static long[] diagonal(long[] x) {
        if (x.length != 2 || x[0] != x[1]) {
            throw bad("diagonal", "expected a square matrix, got " + Shapes.format(x));
        }
        return new long[] {x[0]};
    }

    /** {@code [B, C, H, W]} resampled to {@code outH x outW}. */
    public static long[] resize(long[] x, int outH, int outW) {
        if (x.length != 4 || outH <= 0 || outW <= 0) {
            throw bad("resizeBicubic", "expected [B, C, H, W] and a positive size, got " + Shapes.format(x) + " to "
                    + outH + "x" + outW);
        }
        return new long[] {x[0], x[1], outH, outW};
    }

    /** A norm's weight (or bias) must match the last dimension of its input. */
    public static void normParameter(String op, String what, long[] x, long[] p) {
        if (x.length == 0) {
            throw bad(op, "the input must have at least one dimension");
        }
        if (p != null && (p.length != 1 || p[0] != x[x.length - 1])) {
            throw bad(op, what + " " + Shapes.format(p) + " does not match the last dimension of "
                    + Shapes.format(x));
        }
    }
}
