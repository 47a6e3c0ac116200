package dev.visiontower.backend.onnx;

import dev.visiontower.api.Activation;
import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.spi.ShapeRules;
import java.util.Arrays;
import java.util.List;

/**
 * The operations of the {@code onnx} backend: each records ONNX nodes through {@link OrtBackend} (which owns the
 * tensors, the pending graph, and compiling and running it), after the operands' shapes are checked with
 * {@link ShapeRules}.
 */
final class OrtOps implements Ops {
    private final OrtBackend b;

    OrtOps(OrtBackend backend) {
        this.b = backend;
    }

    private OrtTensor t(Tensor x) {
        return b.t(x);
    }

    private OrtTensor node(String op, long[] shape, DType dtype, Protobuf attributes, Object... inputs) {
        return b.node(op, shape, dtype, attributes, inputs);
    }

    private TensorScope newScope() {
        return b.newScope();
    }

    private static HostTensor scalar(float v) {
        return HostTensor.ofFloats(new float[] {v});
    }

    private static HostTensor longs(long... v) {
        return HostTensor.ofLongs(v, v.length);
    }

    private OrtTensor binary(String op, Tensor a, Tensor b) {
        return node(op, OrtBackend.broadcast(t(a).dims(), t(b).dims()), t(a).type(), null, a, b);
    }

    /** The shape of an operand of this backend (null for null), checked to be one of its own. */
    private long[] sh(Tensor x) {
        return x == null ? null : t(x).dims();
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        ShapeRules.linear(sh(x), sh(weight), sh(bias));
        long[] xs = t(x).dims();
        long[] w = t(weight).dims();
        long[] out = xs.clone();
        out[out.length - 1] = w[0];
        if (t(weight).kind == OrtTensor.Kind.PARAMETER) {
            return product(x, ProductWeight.of(t(weight)), out[out.length - 1], bias);
        }
        OrtTensor y;
        {
            Protobuf perm = OnnxGraph.attrs();
            OnnxGraph.attrInts(perm, "perm", 1, 0);
            OrtTensor wt = node("Transpose", new long[] {w[1], w[0]}, DType.FLOAT32, perm, weight);
            y = node("MatMul", out, DType.FLOAT32, null, x, wt);
            wt.close();
        }
        if (bias == null) {
            return y;
        }
        OrtTensor r = node("Add", out, DType.FLOAT32, null, y, bias);
        y.close();
        return r;
    }

    /**
     * {@code x @ W^T + bias} for a weight the graph stores: MatMul on its float32 transpose (kept once, shared by every
     * session), or with int8 compute ONNX Runtime's DynamicQuantizeMatMul on its per-channel int8 quantisation (the
     * activations quantised per call to uint8 with their own scale and zero point, the scheme of ONNX Runtime's
     * dynamic quantisation). {@code bias} is a tensor, a derived initializer or null.
     */
    OrtTensor product(Tensor x, ProductWeight w, long n, Object bias) {
        long[] out = t(x).dims();
        out[out.length - 1] = n;
        Object b = bias instanceof Tensor ? t((Tensor) bias) : bias;
        if (this.b.int8()) {
            return this.b.contrib("DynamicQuantizeMatMul", new long[][] {out}, new DType[] {DType.FLOAT32}, null, x,
                    w.int8(), w.int8Scales(), null, b)[0];
        }
        OrtTensor y = node("MatMul", out, DType.FLOAT32, null, x, w.transposed());
        if (b == null) {
            return y;
        }
        OrtTensor r = node("Add", out, DType.FLOAT32, null, y, b);
        y.close();
        return r;
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        ShapeRules.matmul(sh(a), sh(b));
        long[] as = t(a).dims();
        long[] bs = t(b).dims();
        long[] batch = OrtBackend.broadcast(Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
        long[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = as[as.length - 2];
        out[batch.length + 1] = bs[bs.length - 1];
        return node("MatMul", out, t(a).type(), null, a, b);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        ShapeRules.broadcast("add", sh(a), sh(b));
        return binary("Add", a, b);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        ShapeRules.broadcast("sub", sh(a), sh(b));
        return binary("Sub", a, b);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        ShapeRules.broadcast("mul", sh(a), sh(b));
        return binary("Mul", a, b);
    }

    @Override
    public Tensor scale(Tensor x, double factor) {
        return node("Mul", t(x).dims(), t(x).type(), null, x, scalar((float) factor));
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        ShapeRules.normParameter("layerNorm", "weight", sh(x), sh(weight));
        ShapeRules.normParameter("layerNorm", "bias", sh(x), sh(bias));
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", -1);
        OnnxGraph.attrFloat(a, "epsilon", (float) eps);
        return node("LayerNormalization", t(x).dims(), DType.FLOAT32, a, x, weight, bias);
    }

    @Override
    public Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        ShapeRules.normParameter("rmsNorm", "weight", sh(x), sh(weight));
        long[] s = t(x).dims();
        long[] reduced = s.clone();
        reduced[reduced.length - 1] = 1;
        Protobuf keep = OnnxGraph.attrs();
        OnnxGraph.attrInt(keep, "keepdims", 1);
        try (TensorScope scope = newScope()) {
            Tensor sq = node("Mul", s, DType.FLOAT32, null, x, x);
            Tensor ms = node("ReduceMean", reduced, DType.FLOAT32, keep, sq, longs(-1));
            Tensor rms = node("Sqrt", reduced, DType.FLOAT32, null, node("Add", reduced, DType.FLOAT32, null, ms,
                    scalar((float) eps)));
            Tensor y = node("Div", s, DType.FLOAT32, null, x, rms);
            return scope.keep(node("Mul", s, DType.FLOAT32, null, y, weight));
        }
    }

    @Override
    public Tensor activation(Tensor x, Activation activation) {
        long[] s = t(x).dims();
        switch (activation) {
            case QUICK_GELU:
                try (TensorScope scope = newScope()) {
                    Tensor sig = node("Sigmoid", s, DType.FLOAT32, null, node("Mul", s, DType.FLOAT32, null, x,
                            scalar(1.702f)));
                    return scope.keep(node("Mul", s, DType.FLOAT32, null, x, sig));
                }
            case GELU:
            case GELU_TANH: {
                Protobuf a = OnnxGraph.attrs();
                OnnxGraph.attrString(a, "approximate", activation == Activation.GELU ? "none" : "tanh");
                return node("Gelu", s, DType.FLOAT32, a, x);
            }
            default:
                throw new AssertionError(activation);
        }
    }

    @Override
    public Tensor softmax(Tensor x, int dim) {
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", ShapeRules.dim("softmax", dim, t(x).dims().length));
        return node("Softmax", t(x).dims(), t(x).type(), a, x);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        ShapeRules.attention(sh(q), sh(k), sh(v), sh(mask));
        long[] qs = t(q).dims();
        long[] ks = t(k).dims();
        long[] vs = t(v).dims();
        long b = Math.max(qs[0], ks[0]);
        long h = Math.max(qs[1], ks[1]);
        long[] scores = {b, h, qs[2], ks[2]};
        Protobuf perm = OnnxGraph.attrs();
        OnnxGraph.attrInts(perm, "perm", 0, 1, 3, 2);
        try (TensorScope scope = newScope()) {
            Tensor kt = node("Transpose", new long[] {ks[0], ks[1], ks[3], ks[2]}, DType.FLOAT32, perm, k);
            Tensor s = node("Mul", scores, DType.FLOAT32, null, node("MatMul", scores, DType.FLOAT32, null, q, kt),
                    scalar((float) scale));
            if (mask != null) {
                s = node("Add", OrtBackend.broadcast(scores, t(mask).dims()), DType.FLOAT32, null, s, mask);
            }
            if (causal) {
                int nq = (int) qs[2];
                int nk = (int) ks[2];
                float[] c = new float[nq * nk];
                for (int i = 0; i < nq; i++) {
                    for (int j = i + 1; j < nk; j++) {
                        c[i * nk + j] = Float.NEGATIVE_INFINITY;
                    }
                }
                s = node("Add", t(s).dims(), DType.FLOAT32, null, s, HostTensor.ofFloats(c, nq, nk));
            }
            Protobuf a = OnnxGraph.attrs();
            OnnxGraph.attrInt(a, "axis", -1);
            Tensor p = node("Softmax", t(s).dims(), DType.FLOAT32, a, s);
            long[] out = {t(s).dims()[0], t(s).dims()[1], qs[2], vs[3]};
            return scope.keep(node("MatMul", out, DType.FLOAT32, null, p, v));
        }
    }

    @Override
    public Tensor patchEmbed(Tensor pixels, Tensor weight, Tensor bias, int patch) {
        ShapeRules.patchEmbed(sh(pixels), sh(weight), patch);
        long[] s = t(pixels).dims();
        long[] w = t(weight).dims();
        long gh = s[2] / patch;
        long gw = s[3] / patch;
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInts(a, "kernel_shape", patch, patch);
        OnnxGraph.attrInts(a, "strides", patch, patch);
        try (TensorScope scope = newScope()) {
            Tensor conv = bias == null
                    ? node("Conv", new long[] {s[0], w[0], gh, gw}, DType.FLOAT32, a, pixels, weight)
                    : node("Conv", new long[] {s[0], w[0], gh, gw}, DType.FLOAT32, a, pixels, weight, bias);
            Tensor flat = node("Reshape", new long[] {s[0], w[0], gh * gw}, DType.FLOAT32, null, conv,
                    longs(s[0], w[0], gh * gw));
            Protobuf perm = OnnxGraph.attrs();
            OnnxGraph.attrInts(perm, "perm", 0, 2, 1);
            return scope.keep(node("Transpose", new long[] {s[0], gh * gw, w[0]}, DType.FLOAT32, perm, flat));
        }
    }

    @Override
    public Tensor reshape(Tensor x, long... shape) {
        ShapeRules.reshape(sh(x), shape);
        long[] in = t(x).dims();
        long total = Shapes.numel(in);
        long[] out = shape.clone();
        int free = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == -1) {
                free = i;
            } else {
                known *= out[i];
            }
        }
        if (free >= 0) {
            out[free] = total / known;
        }
        return node("Reshape", out, t(x).type(), null, x, longs(out));
    }

    @Override
    public Tensor permute(Tensor x, int... dims) {
        ShapeRules.permute(sh(x), dims);
        long[] in = t(x).dims();
        long[] out = new long[dims.length];
        long[] perm = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            perm[i] = ShapeRules.dim("permute", dims[i], in.length);
            out[i] = in[(int) perm[i]];
        }
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInts(a, "perm", perm);
        return node("Transpose", out, t(x).type(), a, x);
    }

    @Override
    public Tensor narrow(Tensor x, int dim, long start, long length) {
        long[] in = t(x).dims();
        long[] out = ShapeRules.narrow(in, dim, start, length);
        int ax = ShapeRules.dim("narrow", dim, in.length);
        return node("Slice", out, t(x).type(), null, x, longs(start), longs(start + length), longs(ax));
    }

    @Override
    public Tensor concat(List<Tensor> xs, int dim) {
        ShapeRules.concat(xs.stream().map(this::sh).toList(), dim);
        long[] first = t(xs.get(0)).dims();
        int ax = ShapeRules.dim("concat", dim, first.length);
        long[] out = first.clone();
        out[ax] = 0;
        for (Tensor x : xs) {
            long[] s = t(x).dims();
            for (int i = 0; i < s.length; i++) {
            }
            out[ax] += s[ax];
        }
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", ax);
        return node("Concat", out, t(xs.get(0)).type(), a, xs.toArray());
    }

    @Override
    public Tensor expand(Tensor x, long... shape) {
        ShapeRules.expand(sh(x), shape);
        long[] in = t(x).dims();
        long[] out = shape.clone();
        for (int i = 0; i < out.length; i++) {
            int j = i - (out.length - in.length);
            if (out[i] == -1) {
                out[i] = j >= 0 ? in[j] : 1;
            }
        }
        OrtBackend.broadcast(in, out);
        return node("Expand", out, t(x).type(), null, x, longs(out));
    }

    @Override
    public Tensor mean(Tensor x, int dim) {
        long[] in = t(x).dims();
        long[] out = ShapeRules.reduce("mean", in, dim);
        int ax = ShapeRules.dim("mean", dim, in.length);
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "keepdims", 0);
        return node("ReduceMean", out, t(x).type(), a, x, longs(ax));
    }

    @Override
    public Tensor l2Normalize(Tensor x, int dim, double eps) {
        long[] in = t(x).dims();
        int ax = ShapeRules.dim("l2Normalize", dim, in.length);
        long[] reduced = in.clone();
        reduced[ax] = 1;
        Protobuf keep = OnnxGraph.attrs();
        OnnxGraph.attrInt(keep, "keepdims", 1);
        try (TensorScope scope = newScope()) {
            Tensor ss = node("ReduceSum", reduced, DType.FLOAT32, keep, node("Mul", in, DType.FLOAT32, null, x, x),
                    longs(ax));
            Tensor n = node("Max", reduced, DType.FLOAT32, null, node("Sqrt", reduced, DType.FLOAT32, null, ss),
                    scalar((float) eps));
            return scope.keep(node("Div", in, DType.FLOAT32, null, x, n));
        }
    }

    @Override
    public Tensor resizeBicubic(Tensor x, int outH, int outW) {
        ShapeRules.resize(sh(x), outH, outW);
        long[] in = t(x).dims();
        long[] out = {in[0], in[1], outH, outW};
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrString(a, "mode", "cubic");
        OnnxGraph.attrFloat(a, "cubic_coeff_a", -0.75f);
        OnnxGraph.attrString(a, "coordinate_transformation_mode", "half_pixel");
        OnnxGraph.attrInt(a, "exclude_outside", 0);
        return node("Resize", out, DType.FLOAT32, a, x, null, null, longs(out));
    }

    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        ShapeRules.embedding(sh(table), sh(ids));
        long[] ts = t(table).dims();
        long[] is = t(ids).dims();
        long[] out = Arrays.copyOf(is, is.length + 1);
        out[is.length] = ts[1];
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", 0);
        return node("Gather", out, DType.FLOAT32, a, table, ids);
    }

    @Override
    public Tensor argmax(Tensor x, int dim) {
        long[] in = t(x).dims();
        long[] out = ShapeRules.reduce("argmax", in, dim);
        int ax = ShapeRules.dim("argmax", dim, in.length);
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", ax);
        OnnxGraph.attrInt(a, "keepdims", 0);
        return node("ArgMax", out, DType.INT64, a, x);
    }

    @Override
    public Tensor equalTo(Tensor x, double value) {
        OrtTensor xt = t(x);
        HostTensor c = xt.type() == DType.INT64 ? HostTensor.ofLongs(new long[] {(long) value}) : scalar((float) value);
        Protobuf cast = OnnxGraph.attrs();
        OnnxGraph.attrInt(cast, "to", OnnxGraph.elemType(DType.FLOAT32));
        try (TensorScope scope = newScope()) {
            Tensor eq = node("Equal", xt.dims(), DType.UINT8, null, x, c); // bool, never read back
            return scope.keep(node("Cast", xt.dims(), DType.FLOAT32, cast, eq));
        }
    }

    @Override
    public Tensor gatherRows(Tensor x, Tensor index) {
        ShapeRules.gatherRows(sh(x), sh(index));
        long[] s = t(x).dims();
        long[] is = t(index).dims();
        long d = s.length == 3 ? s[2] : 1;
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", 1);
        try (TensorScope scope = newScope()) {
            Tensor idx = node("Expand", new long[] {s[0], 1, d}, DType.INT64, null,
                    node("Reshape", new long[] {s[0], 1, 1}, DType.INT64, null, index, longs(s[0], 1, 1)),
                    longs(s[0], 1, d));
            Tensor x3 = s.length == 3 ? x : node("Reshape", new long[] {s[0], s[1], 1}, t(x).type(), null, x,
                    longs(s[0], s[1], 1));
            Tensor picked = node("GatherElements", new long[] {s[0], 1, d}, t(x).type(), a, x3, idx);
            long[] out = s.length == 3 ? new long[] {s[0], d} : new long[] {s[0]};
            return scope.keep(node("Reshape", out, t(x).type(), null, picked, longs(out)));
        }
    }

    @Override
    public Tensor paddingMask(Tensor keep) {
        ShapeRules.paddingMask(sh(keep));
        long[] s = t(keep).dims();
        Protobuf cast = OnnxGraph.attrs();
        OnnxGraph.attrInt(cast, "to", OnnxGraph.elemType(DType.FLOAT32));
        try (TensorScope scope = newScope()) {
            Tensor f = node("Cast", s, DType.FLOAT32, cast, keep);
            Tensor inv = node("Sub", s, DType.FLOAT32, null, scalar(1f), f);
            Tensor m = node("Mul", s, DType.FLOAT32, null, inv, scalar(-Float.MAX_VALUE));
            return scope.keep(node("Reshape", new long[] {s[0], 1, 1, s[1]}, DType.FLOAT32, null, m,
                    longs(s[0], 1, 1, s[1])));
        }
    }

    @Override
    public Tensor exp(Tensor x) {
        return node("Exp", t(x).dims(), t(x).type(), null, x);
    }

    @Override
    public Tensor logSoftmax(Tensor x, int dim) {
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", ShapeRules.dim("logSoftmax", dim, t(x).dims().length));
        return node("LogSoftmax", t(x).dims(), t(x).type(), a, x);
    }

    @Override
    public Tensor logSigmoid(Tensor x) {
        long[] s = t(x).dims();
        try (TensorScope scope = newScope()) {
            Tensor sp = node("Softplus", s, DType.FLOAT32, null, node("Neg", s, DType.FLOAT32, null, x));
            return scope.keep(node("Neg", s, DType.FLOAT32, null, sp));
        }
    }

    @Override
    public Tensor sum(Tensor x) {
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "keepdims", 0);
        return node("ReduceSum", new long[0], t(x).type(), a, x);
    }

    @Override
    public Tensor diagonal(Tensor x) {
        ShapeRules.diagonal(sh(x));
        long[] s = t(x).dims();
        long n = Math.min(s[0], s[1]);
        float[] eye = new float[(int) (s[0] * s[1])];
        for (int i = 0; i < n; i++) {
            eye[(int) (i * s[1] + i)] = 1f;
        }
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "keepdims", 0);
        try (TensorScope scope = newScope()) {
            Tensor masked = node("Mul", s, DType.FLOAT32, null, x, HostTensor.ofFloats(eye, s));
            Tensor row = node("ReduceSum", new long[] {s[0]}, DType.FLOAT32, a, masked, longs(1));
            return scope.keep(n == s[0] ? row : node("Slice", new long[] {n}, DType.FLOAT32, null, row, longs(0),
                    longs(n), longs(0)));
        }
    }
}
