package dev.visiontower.backend.jcuda;

import dev.visiontower.api.Activation;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.spi.Operands;
import dev.visiontower.api.spi.ShapeRules;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import java.util.Arrays;
import java.util.List;

import static dev.visiontower.backend.jcuda.CudaBackend.broadcastShape;
import static dev.visiontower.backend.jcuda.CudaBackend.broadcastStrides;
import static dev.visiontower.backend.jcuda.CudaBackend.dim;
import static dev.visiontower.backend.jcuda.CudaBackend.done;
import static dev.visiontower.backend.jcuda.CudaBackend.prod;
import static dev.visiontower.backend.jcuda.CudaBackend.rowThreads;
import static dev.visiontower.backend.jcuda.CudaBackend.rows;
import static dev.visiontower.backend.jcuda.CudaBackend.strides;
import static dev.visiontower.backend.jcuda.CudaBackend.toInt;
import static dev.visiontower.backend.jcuda.CudaBackend.without;

/**
 * The operations of the {@code jcuda} backend: operand shapes checked on the host ({@link ShapeRules}), then this
 * module's kernels launched on the backend's stream, matrix products through {@link GemmDispatch}. Device memory,
 * tensors, options and the fused layers belong to {@link CudaBackend}.
 */
final class CudaOps implements Ops {
    private final CudaBackend backend;
    private final Kernels kernels;
    private final CUstream stream;
    private final Gemm.Precision precision;
    private final boolean fusedAttention;
    private final GemmDispatch dispatch;

    CudaOps(CudaBackend backend, GemmDispatch dispatch, boolean fusedAttention) {
        this.backend = backend;
        this.kernels = backend.kernels();
        this.stream = backend.stream();
        this.precision = backend.precision();
        this.fusedAttention = fusedAttention;
        this.dispatch = dispatch;
    }

    private CudaTensor c(Tensor t, String op, String what) {
        return backend.c(t, op, what);
    }

    private CudaTensor f(Tensor t, String op, String what) {
        return backend.f(t, op, what);
    }

    private CudaTensor alloc(long[] shape, DType dtype) {
        return backend.alloc(shape, dtype);
    }

    private void current() {
        backend.current();
    }

    private void gemm(boolean transB, CUdeviceptr a, CUdeviceptr b, CudaTensor weight, CUdeviceptr out,
                      CUdeviceptr bias, long m, long n, long k, long sA, long sB, long sC, long batch, float alpha) {
        dispatch.run(transB, a, b, weight, out, bias, m, n, k, sA, sB, sC, batch, alpha);
    }


    /** The shape of an operand of this backend (null for null), checked to be one of its own. */
    private long[] sh(Tensor x) {
        return x == null ? null : Operands.own(backend, CudaTensor.class, x).dims();
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        ShapeRules.linear(sh(x), sh(weight), sh(bias));
        current();
        CudaTensor a = f(x, "linear", "x");
        CudaTensor w = c(weight, "linear", "weight");
        long[] xs = a.dims();
        long[] ws = w.dims();
        CudaTensor bi = null;
        if (bias != null) {
            bi = c(bias, "linear", "bias");
            if (!Arrays.equals(bi.dims(), new long[] {ws[0]})) {
                throw new InvalidInputException("linear: bias " + Shapes.format(bi.dims()) + " does not match ["
                        + ws[0] + "]");
            }
        }
        long[] os = xs.clone();
        os[os.length - 1] = ws[0];
        CudaTensor out = alloc(os, DType.FLOAT32);
        gemm(true, a.ptr(), w.ptr(), w, out.ptr(), bi == null ? null : bi.ptr(), rows(xs), ws[0], ws[1],
                0, 0, 0, 1, 1f);
        done(a, x);
        return out;
    }

    @Override
    public Tensor matmul(Tensor x, Tensor y) {
        ShapeRules.matmul(sh(x), sh(y));
        current();
        CudaTensor a = f(x, "matmul", "a");
        CudaTensor b = f(y, "matmul", "b");
        long[] as = a.dims();
        long[] bs = b.dims();
        long n = as[as.length - 2];
        long k = as[as.length - 1];
        long m = bs[bs.length - 1];
        long[] ab = Arrays.copyOf(as, as.length - 2);
        long[] bb = Arrays.copyOf(bs, bs.length - 2);
        CudaTensor out;
        if (bb.length == 0 || prod(bb, 0, bb.length) == 1 && ab.length >= bb.length) {
            // b is one matrix: fold a's batch into the rows
            long[] os = Arrays.copyOf(as, as.length);
            os[os.length - 1] = m;
            out = alloc(os, DType.FLOAT32);
            gemm(false, a.ptr(), b.ptr(), null, out.ptr(), null, prod(ab, 0, ab.length) * n, m, k, 0, 0, 0, 1, 1f);
        } else {
            long[] batch = broadcastShape(ab, bb, "matmul");
            CudaTensor ea = a;
            CudaTensor eb = b;
            if (!Arrays.equals(ab, batch) && prod(ab, 0, ab.length) != 1) {
                ea = (CudaTensor) expand(a, concatDims(batch, n, k));
            }
            if (!Arrays.equals(bb, batch) && prod(bb, 0, bb.length) != 1) {
                eb = (CudaTensor) expand(b, concatDims(batch, k, m));
            }
            out = alloc(concatDims(batch, n, m), DType.FLOAT32);
            long sa = prod(ab, 0, ab.length) == 1 && ea == a ? 0 : n * k;
            long sb = prod(bb, 0, bb.length) == 1 && eb == b ? 0 : k * m;
            gemm(false, ea.ptr(), eb.ptr(), null, out.ptr(), null, n, m, k, sa, sb, n * m,
                    prod(batch, 0, batch.length), 1f);
            done(ea, a);
            done(eb, b);
        }
        done(a, x);
        done(b, y);
        return out;
    }

    private static long[] concatDims(long[] batch, long r, long c) {
        long[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = r;
        s[batch.length + 1] = c;
        return s;
    }

    private Tensor binary(Tensor x, Tensor y, int op, String name) {
        current();
        CudaTensor a = f(x, name, "a");
        CudaTensor b = f(y, name, "b");
        long[] as = a.dims();
        long[] bs = b.dims();
        long[] os = broadcastShape(as, bs, name);
        CudaTensor out = alloc(os, DType.FLOAT32);
        long n = Shapes.numel(os);
        if (Arrays.equals(as, bs)) {
            kernels.launch1d(stream, "vt_binary_dense", n, out.ptr(), a.ptr(), b.ptr(), n, op);
        } else {
            kernels.launch1d(stream, "vt_binary", n, out.ptr(), a.ptr(), b.ptr(),
                    Kernels.layout2(os, broadcastStrides(as, os), broadcastStrides(bs, os)), n, op);
        }
        done(a, x);
        done(b, y);
        return out;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        ShapeRules.broadcast("add", sh(a), sh(b));
        return binary(a, b, 0, "add");
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        ShapeRules.broadcast("sub", sh(a), sh(b));
        return binary(a, b, 1, "sub");
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        ShapeRules.broadcast("mul", sh(a), sh(b));
        return binary(a, b, 2, "mul");
    }

    private Tensor unary(Tensor x, int op, float p, String name) {
        current();
        CudaTensor a = f(x, name, "x");
        CudaTensor out = alloc(a.dims(), DType.FLOAT32);
        kernels.launch1d(stream, "vt_unary", a.numel(), out.ptr(), a.ptr(), a.numel(), op, p);
        done(a, x);
        return out;
    }

    @Override
    public Tensor scale(Tensor x, double factor) {
        return unary(x, 3, (float) factor, "scale");
    }

    @Override
    public Tensor activation(Tensor x, Activation activation) {
        switch (activation) {
            case QUICK_GELU: return unary(x, 0, 0f, "activation");
            case GELU: return unary(x, 1, 0f, "activation");
            case GELU_TANH: return unary(x, 2, 0f, "activation");
            default: throw new InvalidInputException("jcuda: unsupported activation " + activation);
        }
    }

    @Override
    public Tensor exp(Tensor x) {
        return unary(x, 4, 0f, "exp");
    }

    @Override
    public Tensor logSigmoid(Tensor x) {
        return unary(x, 5, 0f, "logSigmoid");
    }

    @Override
    public Tensor equalTo(Tensor x, double value) {
        return unary(x, 6, (float) value, "equalTo");
    }

    private void checkVector(CudaTensor v, long cols, String op, String what) {
        if (!Arrays.equals(v.dims(), new long[] {cols})) {
            throw new InvalidInputException(op + ": " + what + " " + Shapes.format(v.dims()) + " does not match the "
                    + "last dimension " + cols);
        }
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        ShapeRules.normParameter("layerNorm", "weight", sh(x), sh(weight));
        ShapeRules.normParameter("layerNorm", "bias", sh(x), sh(bias));
        current();
        CudaTensor a = f(x, "layerNorm", "x");
        long[] s = a.dims();
        long cols = s[s.length - 1];
        CudaTensor w = weight == null ? null : c(weight, "layerNorm", "weight");
        CudaTensor b = bias == null ? null : c(bias, "layerNorm", "bias");
        if (w != null) {
            checkVector(w, cols, "layerNorm", "weight");
        }
        if (b != null) {
            checkVector(b, cols, "layerNorm", "bias");
        }
        CudaTensor out = alloc(s, DType.FLOAT32);
        if (backend.warpNorm(cols) && rows(s) > 0) {
            kernels.launch(stream, "vt_layer_norm_rows", toInt((rows(s) + 3) / 4, "row groups"), 1, 1, 128, 0,
                    out.ptr(), a.ptr(), w == null ? null : w.ptr(), b == null ? null : b.ptr(), rows(s), (int) cols,
                    (float) eps);
            done(a, x);
            return out;
        }
        kernels.launchRows(stream, "vt_layer_norm", rows(s), rowThreads(cols), out.ptr(), a.ptr(),
                w == null ? null : w.ptr(), b == null ? null : b.ptr(), cols, (float) eps);
        done(a, x);
        return out;
    }

    @Override
    public Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        ShapeRules.normParameter("rmsNorm", "weight", sh(x), sh(weight));
        current();
        CudaTensor a = f(x, "rmsNorm", "x");
        long[] s = a.dims();
        long cols = s[s.length - 1];
        CudaTensor w = weight == null ? null : c(weight, "rmsNorm", "weight");
        if (w != null) {
            checkVector(w, cols, "rmsNorm", "weight");
        }
        CudaTensor out = alloc(s, DType.FLOAT32);
        if (backend.warpNorm(cols) && rows(s) > 0) {
            kernels.launch(stream, "vt_rms_norm_rows", toInt((rows(s) + 3) / 4, "row groups"), 1, 1, 128, 0,
                    out.ptr(), a.ptr(), w == null ? null : w.ptr(), rows(s), (int) cols, (float) eps);
            done(a, x);
            return out;
        }
        kernels.launchRows(stream, "vt_rms_norm", rows(s), rowThreads(cols), out.ptr(), a.ptr(),
                w == null ? null : w.ptr(), cols, (float) eps);
        done(a, x);
        return out;
    }

    private Tensor softmaxAlong(Tensor x, int d, boolean log, String name) {
        current();
        CudaTensor a = f(x, name, "x");
        long[] s = a.dims();
        int r = dim(d, s.length, name);
        if (r != s.length - 1) {
            int[] perm = new int[s.length];
            for (int i = 0; i < s.length; i++) {
                perm[i] = i;
            }
            perm[r] = s.length - 1;
            perm[s.length - 1] = r;
            try (TensorScope scope = backend.newScope()) {
                Tensor moved = permute(a, perm);
                Tensor sm = softmaxAlong(moved, -1, log, name);
                Tensor back = scope.keep(permute(sm, perm));
                done(a, x);
                return back;
            }
        }
        long cols = s[s.length - 1];
        CudaTensor out = alloc(s, DType.FLOAT32);
        kernels.launchRows(stream, "vt_softmax_rows", rows(s), rowThreads(cols), out.ptr(), a.ptr(), cols,
                log ? 1 : 0, 1f, null, 0L, 0L, 0L, 0L, 1L, 1L, 0);
        done(a, x);
        return out;
    }

    @Override
    public Tensor softmax(Tensor x, int d) {
        return softmaxAlong(x, d, false, "softmax");
    }

    @Override
    public Tensor logSoftmax(Tensor x, int d) {
        return softmaxAlong(x, d, true, "logSoftmax");
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        ShapeRules.attention(sh(q), sh(k), sh(v), sh(mask));
        current();
        CudaTensor qq = f(q, "attention", "q");
        CudaTensor kk = f(k, "attention", "k");
        CudaTensor vv = f(v, "attention", "v");
        long[] qs = qq.dims();
        long[] ks = kk.dims();
        long[] vs = vv.dims();
        long b = qs[0];
        long h = qs[1];
        long nq = qs[2];
        long nk = ks[2];
        long dh = qs[3];
        long dv = vs[3];
        long[] ms = new long[4];
        CudaTensor mm = null;
        if (mask != null) {
            mm = f(mask, "attention", "mask");
            long[] target = {b, h, nq, nk};
            long[] shape = mm.dims();
            ms = broadcastStrides(shape, target);
        }
        long batch = b * h;
        if (fusedAttention && (precision == Gemm.Precision.BF16 || precision == Gemm.Precision.FP16)
                && dh == dv && (dh == 64 || dh == 128) && batch <= 65535) {
            CudaTensor out = alloc(new long[] {b, h, nq, dv}, DType.FLOAT32);
            int d = (int) dh;
            int smem = CudaBackend.flashSharedBytes(d);
            String name = (precision == Gemm.Precision.BF16 ? "vt_flash_bf16_d" : "vt_flash_f16_d") + d;
            kernels.launch(stream, name, toInt((nq + 63) / 64, "query tiles"), (int) batch, 1, 128, smem,
                    qq.ptr(), kk.ptr(), vv.ptr(), out.ptr(), mm == null ? null : mm.ptr(), ms[0], ms[1], ms[2], ms[3],
                    (int) h, toInt(nq, "queries"), toInt(nk, "keys"), (float) scale, causal ? 1 : 0,
                    h * nq * dh, nq * dh, dh, h * nk * dh, nk * dh, dh, h * nq * dh, nq * dh, dh);
            done(qq, q);
            done(kk, k);
            done(vv, v);
            if (mm != null) {
                done(mm, mask);
            }
            return out;
        }
        CudaAllocator.Block scores = backend.allocator().allocate(4 * batch * nq * nk);
        try {
            gemm(true, qq.ptr(), kk.ptr(), null, scores.ptr(), null, nq, nk, dh, nq * dh, nk * dh, nq * nk, batch,
                    (float) scale);
            kernels.launchRows(stream, "vt_softmax_rows", batch * nq, rowThreads(nk), scores.ptr(), scores.ptr(), nk,
                    0, 1f, mm == null ? null : mm.ptr(), ms[0], ms[1], ms[2], ms[3], h, nq, causal ? 1 : 0);
            CudaTensor out = alloc(new long[] {b, h, nq, dv}, DType.FLOAT32);
            gemm(false, scores.ptr(), vv.ptr(), null, out.ptr(), null, nq, dv, nk, nq * nk, nk * dv, nq * dv, batch,
                    1f);
            return out;
        } finally {
            backend.freeBlock(scores); // stream-ordered: the kernels above are queued before any reuse
            done(qq, q);
            done(kk, k);
            done(vv, v);
            if (mm != null) {
                done(mm, mask);
            }
        }
    }

    @Override
    public Tensor patchEmbed(Tensor pixels, Tensor weight, Tensor bias, int patch) {
        ShapeRules.patchEmbed(sh(pixels), sh(weight), patch);
        current();
        CudaTensor px = f(pixels, "patchEmbed", "pixels");
        CudaTensor w = c(weight, "patchEmbed", "weight");
        long[] ps = px.dims();
        long[] ws = w.dims();
        CudaTensor bi = bias == null ? null : c(bias, "patchEmbed", "bias");
        if (bi != null) {
            checkVector(bi, ws[0], "patchEmbed", "bias");
        }
        long bsz = ps[0];
        int ch = toInt(ps[1], "channels");
        int gh = toInt(ps[2] / patch, "grid");
        int gw = toInt(ps[3] / patch, "grid");
        long kdim = (long) ch * patch * patch;
        long rowsN = bsz * gh * gw;
        CudaAllocator.Block cols = backend.allocator().allocate(4 * rowsN * kdim);
        try {
            kernels.launch1d(stream, "vt_im2col", rowsN * kdim, cols.ptr(), px.ptr(), bsz, ch, toInt(ps[2], "height"),
                    toInt(ps[3], "width"), patch, gh, gw);
            CudaTensor out = alloc(new long[] {bsz, (long) gh * gw, ws[0]}, DType.FLOAT32);
            gemm(true, cols.ptr(), w.ptr(), w, out.ptr(), bi == null ? null : bi.ptr(), rowsN, ws[0],
                    kdim, 0, 0, 0, 1, 1f);
            return out;
        } finally {
            backend.freeBlock(cols);
            done(px, pixels);
        }
    }

    @Override
    public Tensor reshape(Tensor x, long... shape) {
        ShapeRules.reshape(sh(x), shape);
        current();
        CudaTensor a = c(x, "reshape", "x");
        long n = a.numel();
        long[] s = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                infer = i;
            } else if (s[i] < 0) {
                throw new InvalidInputException("reshape: negative size in " + Shapes.format(shape));
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0) {
            s[infer] = n / known;
        }
        return new CudaTensor(backend, backend.registry(), a.storage.retain(), s, a.dtype(), true, false);
    }

    private CudaTensor copyView(CudaTensor a, CUdeviceptr base, long[] outShape, long[] srcStrides) {
        CudaTensor out = alloc(outShape, a.dtype());
        long n = Shapes.numel(outShape);
        kernels.launch1d(stream, a.dtype() == DType.INT64 ? "vt_copy_i64" : "vt_copy_f32", n, out.ptr(), base,
                Kernels.layout(outShape, srcStrides), n);
        return out;
    }

    @Override
    public Tensor permute(Tensor x, int... dims) {
        ShapeRules.permute(sh(x), dims);
        current();
        CudaTensor a = c(x, "permute", "x");
        long[] s = a.dims();
        long[] st = strides(s);
        long[] os = new long[s.length];
        long[] ss = new long[s.length];
        boolean[] seen = new boolean[s.length];
        for (int i = 0; i < dims.length; i++) {
            int d = dim(dims[i], s.length, "permute");
            seen[d] = true;
            os[i] = s[d];
            ss[i] = st[d];
        }
        return copyView(a, a.ptr(), os, ss);
    }

    @Override
    public Tensor narrow(Tensor x, int d, long start, long length) {
        ShapeRules.narrow(sh(x), d, start, length);
        current();
        CudaTensor a = c(x, "narrow", "x");
        long[] s = a.dims();
        int r = dim(d, s.length, "narrow");
        long[] st = strides(s);
        long[] os = s.clone();
        os[r] = length;
        long elem = a.dtype() == DType.INT64 ? 8 : 4;
        return copyView(a, a.ptr().withByteOffset(start * st[r] * elem), os, st);
    }

    @Override
    public Tensor concat(List<Tensor> xs, int d) {
        ShapeRules.concat(xs.stream().map(this::sh).toList(), d);
        current();
        CudaTensor first = c(xs.get(0), "concat", "tensor 0");
        long[] s0 = first.dims();
        int r = dim(d, s0.length, "concat");
        long total = 0;
        for (int i = 0; i < xs.size(); i++) {
            CudaTensor t = c(xs.get(i), "concat", "tensor " + i);
            long[] s = t.dims();
            boolean ok = s.length == s0.length && t.dtype() == first.dtype();
            for (int j = 0; ok && j < s.length; j++) {
                ok = j == r || s[j] == s0[j];
            }
            total += s[r];
        }
        long[] os = s0.clone();
        os[r] = total;
        CudaTensor out = alloc(os, first.dtype());
        long[] ost = strides(os);
        long elem = first.dtype() == DType.INT64 ? 8 : 4;
        long offset = 0;
        for (Tensor t : xs) {
            CudaTensor p = (CudaTensor) t;
            long[] ps = p.dims();
            long n = Shapes.numel(ps);
            kernels.launch1d(stream, first.dtype() == DType.INT64 ? "vt_scatter_i64" : "vt_scatter_f32", n,
                    out.ptr().withByteOffset(offset * ost[r] * elem), Kernels.layout(ps, ost), p.ptr(), n);
            offset += ps[r];
        }
        return out;
    }

    @Override
    public Tensor expand(Tensor x, long... shape) {
        ShapeRules.expand(sh(x), shape);
        current();
        CudaTensor a = c(x, "expand", "x");
        long[] s = a.dims();
        long[] os = shape.clone();
        int off = os.length - s.length;
        for (int i = 0; i < os.length; i++) {
            long own = i >= off ? s[i - off] : 1;
            if (os[i] == -1) {
                os[i] = own;
            } else if (own != 1 && own != os[i]) {
                throw new InvalidInputException("expand: " + Shapes.format(s) + " cannot be expanded to "
                        + Shapes.format(shape));
            }
        }
        return copyView(a, a.ptr(), os, broadcastStrides(s, os));
    }

    /** x viewed as [outer, d, inner] around dimension {@code r}. */
    private static long[] around(long[] s, int r) {
        return new long[] {prod(s, 0, r), s[r], prod(s, r + 1, s.length)};
    }

    @Override
    public Tensor mean(Tensor x, int d) {
        current();
        CudaTensor a = f(x, "mean", "x");
        long[] s = a.dims();
        int r = dim(d, s.length, "mean");
        long[] v = around(s, r);
        CudaTensor out = alloc(without(s, r), DType.FLOAT32);
        kernels.launch1d(stream, "vt_mean_dim", v[0] * v[2], out.ptr(), a.ptr(), v[0], v[1], v[2]);
        done(a, x);
        return out;
    }

    @Override
    public Tensor l2Normalize(Tensor x, int d, double eps) {
        current();
        CudaTensor a = f(x, "l2Normalize", "x");
        long[] s = a.dims();
        int r = dim(d, s.length, "l2Normalize");
        long[] v = around(s, r);
        CudaTensor out = alloc(s, DType.FLOAT32);
        kernels.launch1d(stream, "vt_l2norm_dim", v[0] * v[2], out.ptr(), a.ptr(), v[0], v[1], v[2], (float) eps);
        done(a, x);
        return out;
    }

    @Override
    public Tensor resizeBicubic(Tensor x, int outH, int outW) {
        ShapeRules.resize(sh(x), outH, outW);
        current();
        CudaTensor a = f(x, "resizeBicubic", "x");
        long[] s = a.dims();
        CudaTensor out = alloc(new long[] {s[0], s[1], outH, outW}, DType.FLOAT32);
        long planes = s[0] * s[1];
        kernels.launch1d(stream, "vt_resize_bicubic", planes * outH * outW, out.ptr(), a.ptr(), planes,
                toInt(s[2], "height"), toInt(s[3], "width"), outH, outW);
        done(a, x);
        return out;
    }

    /** Indices are validated on the host (they are small), so a bad id is an error, not a device fault. */
    private long[] hostIndices(CudaTensor ids, String op) {
        if (ids.dtype() != DType.INT64) {
            throw new InvalidInputException(op + ": indices must be int64, got " + ids.dtype());
        }
        return backend.download(ids).longs();
    }

    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        ShapeRules.embedding(sh(table), sh(ids));
        current();
        CudaTensor t = f(table, "embedding", "table");
        CudaTensor i = c(ids, "embedding", "ids");
        long[] ts = t.dims();
        for (long id : hostIndices(i, "embedding")) {
            if (id < 0 || id >= ts[0]) {
                throw new InvalidInputException("embedding: id " + id + " is outside [0, " + ts[0] + ")");
            }
        }
        long[] is = i.dims();
        long[] os = Arrays.copyOf(is, is.length + 1);
        os[is.length] = ts[1];
        CudaTensor out = alloc(os, DType.FLOAT32);
        long count = i.numel();
        kernels.launch1d(stream, "vt_embedding", count * ts[1], out.ptr(), t.ptr(), i.ptr(), count, ts[1]);
        done(t, table);
        return out;
    }

    @Override
    public Tensor argmax(Tensor x, int d) {
        current();
        CudaTensor a = f(x, "argmax", "x");
        long[] s = a.dims();
        int r = dim(d, s.length, "argmax");
        if (s[r] == 0) {
            throw new InvalidInputException("argmax: dimension " + r + " of " + Shapes.format(s) + " is empty");
        }
        long[] v = around(s, r);
        CudaTensor out = alloc(without(s, r), DType.INT64);
        kernels.launch1d(stream, "vt_argmax_dim", v[0] * v[2], out.ptr(), a.ptr(), v[0], v[1], v[2]);
        done(a, x);
        return out;
    }

    @Override
    public Tensor gatherRows(Tensor x, Tensor index) {
        ShapeRules.gatherRows(sh(x), sh(index));
        current();
        CudaTensor a = f(x, "gatherRows", "x");
        CudaTensor i = c(index, "gatherRows", "index");
        long[] s = a.dims();
        if (s.length < 2 || !Arrays.equals(i.dims(), new long[] {s[0]})) {
            throw new InvalidInputException("gatherRows: x " + Shapes.format(s) + " and index "
                    + Shapes.format(i.dims()) + " do not match ([B, N, ...] and [B])");
        }
        for (long v : hostIndices(i, "gatherRows")) {
            if (v < 0 || v >= s[1]) {
                throw new InvalidInputException("gatherRows: index " + v + " is outside [0, " + s[1] + ")");
            }
        }
        long inner = prod(s, 2, s.length);
        long[] os = new long[s.length - 1];
        os[0] = s[0];
        System.arraycopy(s, 2, os, 1, s.length - 2);
        CudaTensor out = alloc(os, DType.FLOAT32);
        kernels.launch1d(stream, "vt_gather_rows", s[0] * inner, out.ptr(), a.ptr(), i.ptr(), s[0], s[1], inner);
        done(a, x);
        return out;
    }

    @Override
    public Tensor paddingMask(Tensor keep) {
        ShapeRules.paddingMask(sh(keep));
        current();
        CudaTensor k = c(keep, "paddingMask", "keep");
        long[] s = k.dims();
        CudaTensor out = alloc(new long[] {s[0], 1, 1, s[1]}, DType.FLOAT32);
        boolean ints = k.dtype() == DType.INT64;
        kernels.launch1d(stream, "vt_padding_mask", k.numel(), out.ptr(), ints ? null : k.ptr(),
                ints ? k.ptr() : null, k.numel());
        return out;
    }

    @Override
    public Tensor sum(Tensor x) {
        current();
        CudaTensor a = f(x, "sum", "x");
        CudaTensor out = alloc(new long[0], DType.FLOAT32);
        kernels.launch(stream, "vt_sum_all", 1, 1, 1, 1024, 0, out.ptr(), a.ptr(), a.numel());
        done(a, x);
        return out;
    }

    @Override
    public Tensor diagonal(Tensor x) {
        ShapeRules.diagonal(sh(x));
        current();
        CudaTensor a = c(x, "diagonal", "x");
        long[] s = a.dims();
        return copyView(a, a.ptr(), new long[] {s[0]}, new long[] {s[0] + 1});
    }
}
