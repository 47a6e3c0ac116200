package dev.visiontower.conformance;

import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.spi.AbstractTensor;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.Operands;
import dev.visiontower.api.spi.ShapeRules;
import dev.visiontower.api.spi.TensorRegistry;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The float64 control every backend is checked against: each operation written out plainly in Java, computed in
 * double precision (values are stored as doubles; integers as exact doubles). Slow by design; not a
 * {@link dev.visiontower.api.spi.BackendProvider}, so it is never selected for real work.
 */
public final class ReferenceBackend implements Backend, Ops {
    private final TensorRegistry registry = new TensorRegistry();

    /** A tensor of the reference backend. */
    static final class Ref extends AbstractTensor {
        final ReferenceBackend backend;
        final double[] v;
        final long[] s;

        Ref(ReferenceBackend b, double[] v, long[] s, DType t, boolean scoped) {
            super(b.registry, s, t, scoped);
            this.backend = b;
            this.v = v;
            this.s = s.clone();
        }

        @Override
        public Backend backend() {
            return backend;
        }

        @Override
        public HostTensor toHost() {
            checkOpen();
            if (rawDType() == DType.INT64) {
                long[] out = new long[v.length];
                for (int i = 0; i < v.length; i++) {
                    out[i] = (long) v[i];
                }
                return HostTensor.ofLongs(out, s);
            }
            float[] out = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                out[i] = (float) v[i];
            }
            return HostTensor.ofFloats(out, s);
        }

        DType rawDTypeOf() {
            return rawDType();
        }

        @Override
        protected void release() {
            // heap memory: nothing to free eagerly
        }
    }

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public DType dtype() {
        return DType.FLOAT64;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.INFERENCE);
    }

    @Override
    public Ops ops() {
        return this;
    }

    @Override
    public TensorScope newScope() {
        return registry.newScope();
    }

    @Override
    public long liveTensors() {
        return registry.live();
    }

    @Override
    public void close() {
    }

    @Override
    public Tensor fromHost(HostTensor h) {
        return new Ref(this, toDoubles(h), h.shape(), h.dtype() == DType.INT64 ? DType.INT64 : DType.FLOAT64, true);
    }

    @Override
    public Tensor parameter(String name, HostTensor h) {
        return new Ref(this, toDoubles(h), h.shape(), DType.FLOAT64, false);
    }

    private static double[] toDoubles(HostTensor h) {
        if (h.dtype() == DType.INT64) {
            long[] l = h.longs();
            double[] d = new double[l.length];
            for (int i = 0; i < l.length; i++) {
                d[i] = l[i];
            }
            return d;
        }
        float[] f = h.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private Ref r(Tensor t) {
        Ref x = Operands.own(this, Ref.class, t);
        x.shape(); // open check
        return x;
    }

    private Ref out(double[] v, long[] s) {
        return new Ref(this, v, s, DType.FLOAT64, true);
    }

    private Ref outLong(double[] v, long[] s) {
        return new Ref(this, v, s, DType.INT64, true);
    }

    private static int ax(int d, int rank) {
        return d < 0 ? d + rank : d;
    }

    private static long[] strides(long[] s) {
        long[] st = new long[s.length];
        long acc = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            st[i] = acc;
            acc *= s[i];
        }
        return st;
    }

    /** Index into {@code src} (shape {@code sh}) of the broadcast position {@code idx} of {@code out}. */
    private static int bIndex(long[] idx, long[] sh) {
        int off = idx.length - sh.length;
        long[] st = strides(sh);
        long p = 0;
        for (int i = 0; i < sh.length; i++) {
            p += (sh[i] == 1 ? 0 : idx[i + off]) * st[i];
        }
        return (int) p;
    }

    private static long[] unravel(long flat, long[] s) {
        long[] idx = new long[s.length];
        for (int i = s.length - 1; i >= 0; i--) {
            idx[i] = flat % s[i];
            flat /= s[i];
        }
        return idx;
    }

    private interface Bin {
        double f(double a, double b);
    }

    private Tensor binary(Tensor a, Tensor b, Bin f) {
        Ref x = r(a);
        Ref y = r(b);
        long[] s = ShapeRules.broadcast("broadcast", x.s, y.s);
        double[] o = new double[(int) Shapes.numel(s)];
        for (int i = 0; i < o.length; i++) {
            long[] idx = unravel(i, s);
            o[i] = f.f(x.v[bIndex(idx, x.s)], y.v[bIndex(idx, y.s)]);
        }
        return out(o, s);
    }

    /** The shape of an operand of this backend (null for null), checked to be one of its own. */
    private long[] sh(Tensor x) {
        return x == null ? null : r(x).s.clone();
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        ShapeRules.linear(sh(x), sh(weight), sh(bias));
        Ref a = r(x);
        Ref w = r(weight);
        int in = (int) w.s[1];
        int outF = (int) w.s[0];
        int rows = a.v.length / in;
        double[] o = new double[rows * outF];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < outF; j++) {
                double acc = bias == null ? 0 : r(bias).v[j];
                for (int k = 0; k < in; k++) {
                    acc += a.v[i * in + k] * w.v[j * in + k];
                }
                o[i * outF + j] = acc;
            }
        }
        long[] s = a.s.clone();
        s[s.length - 1] = outF;
        return out(o, s);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        ShapeRules.matmul(sh(a), sh(b));
        Ref x = r(a);
        Ref y = r(b);
        int n = (int) x.s[x.s.length - 2];
        int k = (int) x.s[x.s.length - 1];
        int m = (int) y.s[y.s.length - 1];
        long[] xb = Arrays.copyOf(x.s, x.s.length - 2);
        long[] yb = Arrays.copyOf(y.s, y.s.length - 2);
        int nb = Math.max(xb.length, yb.length);
        long[] batch = new long[nb];
        for (int i = 0; i < nb; i++) {
            long p = i - (nb - xb.length) >= 0 ? xb[i - (nb - xb.length)] : 1;
            long q = i - (nb - yb.length) >= 0 ? yb[i - (nb - yb.length)] : 1;
            batch[i] = Math.max(p, q);
        }
        int count = (int) Shapes.numel(batch);
        double[] o = new double[count * n * m];
        for (int bi = 0; bi < count; bi++) {
            long[] idx = unravel(bi, batch);
            int xo = bIndex(idx, xb) * n * k;
            int yo = bIndex(idx, yb) * k * m;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    double acc = 0;
                    for (int t = 0; t < k; t++) {
                        acc += x.v[xo + i * k + t] * y.v[yo + t * m + j];
                    }
                    o[bi * n * m + i * m + j] = acc;
                }
            }
        }
        long[] s = Arrays.copyOf(batch, nb + 2);
        s[nb] = n;
        s[nb + 1] = m;
        return out(o, s);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        ShapeRules.broadcast("add", sh(a), sh(b));
        return binary(a, b, Double::sum);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        ShapeRules.broadcast("sub", sh(a), sh(b));
        return binary(a, b, (p, q) -> p - q);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        ShapeRules.broadcast("mul", sh(a), sh(b));
        return binary(a, b, (p, q) -> p * q);
    }

    @Override
    public Tensor scale(Tensor x, double f) {
        Ref a = r(x);
        double[] o = new double[a.v.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = a.v[i] * f;
        }
        return out(o, a.s);
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        ShapeRules.normParameter("layerNorm", "weight", sh(x), sh(weight));
        ShapeRules.normParameter("layerNorm", "bias", sh(x), sh(bias));
        Ref a = r(x);
        Ref w = r(weight);
        Ref b = bias == null ? null : r(bias);
        int d = (int) a.s[a.s.length - 1];
        double[] o = new double[a.v.length];
        for (int row = 0; row < a.v.length / d; row++) {
            double mean = 0;
            for (int i = 0; i < d; i++) {
                mean += a.v[row * d + i];
            }
            mean /= d;
            double var = 0;
            for (int i = 0; i < d; i++) {
                double c = a.v[row * d + i] - mean;
                var += c * c;
            }
            var /= d;
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < d; i++) {
                o[row * d + i] = (a.v[row * d + i] - mean) * inv * w.v[i] + (b == null ? 0 : b.v[i]);
            }
        }
        return out(o, a.s);
    }

    @Override
    public Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        ShapeRules.normParameter("rmsNorm", "weight", sh(x), sh(weight));
        Ref a = r(x);
        Ref w = r(weight);
        int d = (int) a.s[a.s.length - 1];
        double[] o = new double[a.v.length];
        for (int row = 0; row < a.v.length / d; row++) {
            double ms = 0;
            for (int i = 0; i < d; i++) {
                ms += a.v[row * d + i] * a.v[row * d + i];
            }
            double inv = 1 / Math.sqrt(ms / d + eps);
            for (int i = 0; i < d; i++) {
                o[row * d + i] = a.v[row * d + i] * inv * w.v[i];
            }
        }
        return out(o, a.s);
    }

    @Override
    public Tensor activation(Tensor x, Activation act) {
        Ref a = r(x);
        double[] o = new double[a.v.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = act.apply(a.v[i]);
        }
        return out(o, a.s);
    }

    @Override
    public Tensor softmax(Tensor x, int dim) {
        ShapeRules.dim("softmax", dim, sh(x).length);
        return softmaxLike(x, dim, false);
    }

    @Override
    public Tensor logSoftmax(Tensor x, int dim) {
        ShapeRules.dim("logSoftmax", dim, sh(x).length);
        return softmaxLike(x, dim, true);
    }

    private Tensor softmaxLike(Tensor x, int dim, boolean log) {
        Ref a = r(x);
        int axis = ax(dim, a.s.length);
        long[] st = strides(a.s);
        int len = (int) a.s[axis];
        int step = (int) st[axis];
        double[] o = new double[a.v.length];
        for (int base = 0; base < a.v.length; base++) {
            if ((base / step) % len != 0) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < len; i++) {
                max = Math.max(max, a.v[base + i * step]);
            }
            double sum = 0;
            for (int i = 0; i < len; i++) {
                sum += Math.exp(a.v[base + i * step] - max);
            }
            for (int i = 0; i < len; i++) {
                double z = a.v[base + i * step] - max;
                o[base + i * step] = log ? z - Math.log(sum) : Math.exp(z) / sum;
            }
        }
        return out(o, a.s);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        ShapeRules.attention(sh(q), sh(k), sh(v), sh(mask));
        try (TensorScope s = newScope()) {
            Tensor scores = scale(matmul(q, permute(k, 0, 1, 3, 2)), scale);
            if (mask != null) {
                scores = add(scores, mask);
            }
            if (causal) {
                Ref sc = r(scores);
                int nq = (int) sc.s[2];
                int nk = (int) sc.s[3];
                double[] c = new double[nq * nk];
                for (int i = 0; i < nq; i++) {
                    for (int j = i + 1; j < nk; j++) {
                        c[i * nk + j] = Double.NEGATIVE_INFINITY;
                    }
                }
                scores = add(scores, out(c, new long[] {nq, nk}));
            }
            return s.keep(matmul(softmax(scores, -1), v));
        }
    }

    @Override
    public Tensor patchEmbed(Tensor pixels, Tensor weight, Tensor bias, int p) {
        ShapeRules.patchEmbed(sh(pixels), sh(weight), p);
        Ref x = r(pixels);
        Ref w = r(weight);
        int b = (int) x.s[0];
        int c = (int) x.s[1];
        int hgt = (int) x.s[2];
        int wid = (int) x.s[3];
        int d = (int) w.s[0];
        int gh = hgt / p;
        int gw = wid / p;
        double[] o = new double[b * gh * gw * d];
        for (int n = 0; n < b; n++) {
            for (int gy = 0; gy < gh; gy++) {
                for (int gx = 0; gx < gw; gx++) {
                    for (int f = 0; f < d; f++) {
                        double acc = bias == null ? 0 : r(bias).v[f];
                        for (int ch = 0; ch < c; ch++) {
                            for (int ky = 0; ky < p; ky++) {
                                for (int kx = 0; kx < p; kx++) {
                                    acc += x.v[((n * c + ch) * hgt + gy * p + ky) * wid + gx * p + kx]
                                            * w.v[((f * c + ch) * p + ky) * p + kx];
                                }
                            }
                        }
                        o[((n * gh + gy) * gw + gx) * d + f] = acc;
                    }
                }
            }
        }
        return out(o, new long[] {b, (long) gh * gw, d});
    }

    @Override
    public Tensor reshape(Tensor x, long... shape) {
        ShapeRules.reshape(sh(x), shape);
        Ref a = r(x);
        long[] s = shape.clone();
        long known = 1;
        int free = -1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                free = i;
            } else {
                known *= s[i];
            }
        }
        if (free >= 0) {
            s[free] = a.v.length / known;
        }
        return new Ref(this, a.v.clone(), s, a.rawDTypeOf(), true);
    }

    @Override
    public Tensor permute(Tensor x, int... dims) {
        ShapeRules.permute(sh(x), dims);
        Ref a = r(x);
        long[] s = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            s[i] = a.s[ax(dims[i], dims.length)];
        }
        long[] srcSt = strides(a.s);
        double[] o = new double[a.v.length];
        for (int i = 0; i < o.length; i++) {
            long[] idx = unravel(i, s);
            long p = 0;
            for (int j = 0; j < dims.length; j++) {
                p += idx[j] * srcSt[ax(dims[j], dims.length)];
            }
            o[i] = a.v[(int) p];
        }
        return new Ref(this, o, s, a.rawDTypeOf(), true);
    }

    @Override
    public Tensor narrow(Tensor x, int dim, long start, long length) {
        ShapeRules.narrow(sh(x), dim, start, length);
        Ref a = r(x);
        int axis = ax(dim, a.s.length);
        long[] s = a.s.clone();
        s[axis] = length;
        long[] st = strides(a.s);
        double[] o = new double[(int) Shapes.numel(s)];
        for (int i = 0; i < o.length; i++) {
            long[] idx = unravel(i, s);
            idx[axis] += start;
            long p = 0;
            for (int j = 0; j < idx.length; j++) {
                p += idx[j] * st[j];
            }
            o[i] = a.v[(int) p];
        }
        return new Ref(this, o, s, a.rawDTypeOf(), true);
    }

    @Override
    public Tensor concat(List<Tensor> xs, int dim) {
        ShapeRules.concat(xs.stream().map(this::sh).toList(), dim);
        Ref first = r(xs.get(0));
        int axis = ax(dim, first.s.length);
        long[] s = first.s.clone();
        s[axis] = 0;
        for (Tensor t : xs) {
            s[axis] += r(t).s[axis];
        }
        double[] o = new double[(int) Shapes.numel(s)];
        long offset = 0;
        long[] outSt = strides(s);
        for (Tensor t : xs) {
            Ref a = r(t);
            for (int i = 0; i < a.v.length; i++) {
                long[] idx = unravel(i, a.s);
                idx[axis] += offset;
                long p = 0;
                for (int j = 0; j < idx.length; j++) {
                    p += idx[j] * outSt[j];
                }
                o[(int) p] = a.v[i];
            }
            offset += a.s[axis];
        }
        return new Ref(this, o, s, first.rawDTypeOf(), true);
    }

    @Override
    public Tensor expand(Tensor x, long... shape) {
        ShapeRules.expand(sh(x), shape);
        Ref a = r(x);
        long[] s = shape.clone();
        for (int i = 0; i < s.length; i++) {
            int j = i - (s.length - a.s.length);
            if (s[i] == -1) {
                s[i] = j >= 0 ? a.s[j] : 1;
            }
        }
        double[] o = new double[(int) Shapes.numel(s)];
        for (int i = 0; i < o.length; i++) {
            o[i] = a.v[bIndex(unravel(i, s), a.s)];
        }
        return new Ref(this, o, s, a.rawDTypeOf(), true);
    }

    @Override
    public Tensor mean(Tensor x, int dim) {
        ShapeRules.dim("mean", dim, sh(x).length);
        return reduce(x, dim, true);
    }

    private Tensor reduce(Tensor x, int dim, boolean mean) {
        Ref a = r(x);
        int axis = ax(dim, a.s.length);
        long[] s = new long[a.s.length - 1];
        for (int i = 0, j = 0; i < a.s.length; i++) {
            if (i != axis) {
                s[j++] = a.s[i];
            }
        }
        double[] o = new double[(int) Shapes.numel(s)];
        for (int i = 0; i < a.v.length; i++) {
            long[] idx = unravel(i, a.s);
            long p = 0;
            long[] st = strides(s);
            for (int k = 0, j = 0; k < idx.length; k++) {
                if (k != axis) {
                    p += idx[k] * st[j++];
                }
            }
            o[(int) p] += a.v[i];
        }
        if (mean) {
            for (int i = 0; i < o.length; i++) {
                o[i] /= a.s[axis];
            }
        }
        return out(o, s);
    }

    @Override
    public Tensor l2Normalize(Tensor x, int dim, double eps) {
        ShapeRules.dim("l2Normalize", dim, sh(x).length);
        Ref a = r(x);
        int axis = ax(dim, a.s.length);
        long[] st = strides(a.s);
        int len = (int) a.s[axis];
        int step = (int) st[axis];
        double[] o = new double[a.v.length];
        for (int base = 0; base < a.v.length; base++) {
            if ((base / step) % len != 0) {
                continue;
            }
            double ss = 0;
            for (int i = 0; i < len; i++) {
                ss += a.v[base + i * step] * a.v[base + i * step];
            }
            double n = Math.max(Math.sqrt(ss), eps);
            for (int i = 0; i < len; i++) {
                o[base + i * step] = a.v[base + i * step] / n;
            }
        }
        return out(o, a.s);
    }

    private static double cubic(double t) {
        final double a = -0.75;
        t = Math.abs(t);
        if (t <= 1) {
            return ((a + 2) * t - (a + 3)) * t * t + 1;
        }
        if (t < 2) {
            return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
        }
        return 0;
    }

    @Override
    public Tensor resizeBicubic(Tensor x, int oh, int ow) {
        ShapeRules.resize(sh(x), oh, ow);
        Ref a = r(x);
        int planes = (int) (a.s[0] * a.s[1]);
        int h = (int) a.s[2];
        int w = (int) a.s[3];
        double[] o = new double[planes * oh * ow];
        for (int pl = 0; pl < planes; pl++) {
            for (int oy = 0; oy < oh; oy++) {
                double sy = (oy + 0.5) * h / oh - 0.5;
                int y0 = (int) Math.floor(sy);
                double ty = sy - y0;
                for (int ox = 0; ox < ow; ox++) {
                    double sx = (ox + 0.5) * w / ow - 0.5;
                    int x0 = (int) Math.floor(sx);
                    double tx = sx - x0;
                    double acc = 0;
                    for (int i = -1; i <= 2; i++) {
                        int yy = Math.min(Math.max(y0 + i, 0), h - 1);
                        for (int j = -1; j <= 2; j++) {
                            int xx = Math.min(Math.max(x0 + j, 0), w - 1);
                            acc += cubic(i - ty) * cubic(j - tx) * a.v[(pl * h + yy) * w + xx];
                        }
                    }
                    o[(pl * oh + oy) * ow + ox] = acc;
                }
            }
        }
        return out(o, new long[] {a.s[0], a.s[1], oh, ow});
    }

    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        ShapeRules.embedding(sh(table), sh(ids));
        Ref t = r(table);
        Ref i = r(ids);
        int d = (int) t.s[1];
        double[] o = new double[i.v.length * d];
        for (int k = 0; k < i.v.length; k++) {
            int row = (int) i.v[k];
            if (row < 0 || row >= t.s[0]) {
                throw new InvalidInputException("embedding: id " + row + " is outside [0, " + t.s[0] + ")");
            }
            System.arraycopy(t.v, row * d, o, k * d, d);
        }
        long[] s = Arrays.copyOf(i.s, i.s.length + 1);
        s[i.s.length] = d;
        return out(o, s);
    }

    @Override
    public Tensor argmax(Tensor x, int dim) {
        ShapeRules.dim("argmax", dim, sh(x).length);
        Ref a = r(x);
        int axis = ax(dim, a.s.length);
        long[] s = new long[a.s.length - 1];
        for (int i = 0, j = 0; i < a.s.length; i++) {
            if (i != axis) {
                s[j++] = a.s[i];
            }
        }
        long[] st = strides(a.s);
        int len = (int) a.s[axis];
        int step = (int) st[axis];
        double[] o = new double[(int) Shapes.numel(s)];
        int k = 0;
        for (int base = 0; base < a.v.length; base++) {
            if ((base / step) % len != 0) {
                continue;
            }
            int best = 0;
            for (int i = 1; i < len; i++) {
                if (a.v[base + i * step] > a.v[base + best * step]) {
                    best = i;
                }
            }
            o[k++] = best;
        }
        return outLong(o, s);
    }

    @Override
    public Tensor equalTo(Tensor x, double value) {
        Ref a = r(x);
        double[] o = new double[a.v.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = a.v[i] == value ? 1 : 0;
        }
        return out(o, a.s);
    }

    @Override
    public Tensor gatherRows(Tensor x, Tensor index) {
        ShapeRules.gatherRows(sh(x), sh(index));
        Ref a = r(x);
        Ref idx = r(index);
        int b = (int) a.s[0];
        int n = (int) a.s[1];
        int row = a.v.length / (b * n);
        double[] o = new double[b * row];
        for (int i = 0; i < b; i++) {
            System.arraycopy(a.v, (i * n + (int) idx.v[i]) * row, o, i * row, row);
        }
        long[] s = new long[a.s.length - 1];
        s[0] = b;
        System.arraycopy(a.s, 2, s, 1, a.s.length - 2);
        return out(o, s);
    }

    @Override
    public Tensor paddingMask(Tensor keep) {
        ShapeRules.paddingMask(sh(keep));
        Ref a = r(keep);
        double[] o = new double[a.v.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = a.v[i] != 0 ? 0 : -Float.MAX_VALUE;
        }
        return out(o, new long[] {a.s[0], 1, 1, a.s[1]});
    }

    @Override
    public Tensor exp(Tensor x) {
        Ref a = r(x);
        double[] o = new double[a.v.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = Math.exp(a.v[i]);
        }
        return out(o, a.s);
    }

    @Override
    public Tensor logSigmoid(Tensor x) {
        Ref a = r(x);
        double[] o = new double[a.v.length];
        for (int i = 0; i < o.length; i++) {
            double v = a.v[i];
            o[i] = v >= 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v));
        }
        return out(o, a.s);
    }

    @Override
    public Tensor sum(Tensor x) {
        Ref a = r(x);
        double s = 0;
        for (double v : a.v) {
            s += v;
        }
        return out(new double[] {s}, new long[0]);
    }

    @Override
    public Tensor diagonal(Tensor x) {
        ShapeRules.diagonal(sh(x));
        Ref a = r(x);
        int n = (int) Math.min(a.s[0], a.s[1]);
        double[] o = new double[n];
        for (int i = 0; i < n; i++) {
            o[i] = a.v[(int) (i * a.s[1] + i)];
        }
        return out(o, new long[] {n});
    }
}
