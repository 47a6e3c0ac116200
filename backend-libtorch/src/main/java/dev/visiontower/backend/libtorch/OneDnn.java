package dev.visiontower.backend.libtorch;

import dev.visiontower.api.Activation;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * oneDNN on the CPU for the libtorch backend's matrix products: weights reordered once into the layout the product
 * kernel reads (AMX tiles, VNNI pairs), and bias, activation, per-channel scale and residual applied in the product's
 * epilogue instead of separate passes over the output. libtorch's own oneDNN (3.7 in libtorch 2.10) re-reads plain
 * weights on every call and runs the same bfloat16 products about 1.4x slower here; its float32 products go to
 * OpenBLAS, whose thread pool busy-waits against libtorch's OpenMP pool. This oneDNN runs on libtorch's OpenMP
 * runtime (loaded after libtorch, it binds the same {@code libgomp}), so every CPU kernel of an inference pass shares
 * one pool.
 *
 * <p>Tensors cross without copies: oneDNN memory objects wrap libtorch tensors' data. Primitives are cached by
 * problem (shape, types, epilogue); oneDNN compiles each once.
 */
final class OneDnn {
    private static final Object LOCK = new Object();
    private static volatile OneDnn instance;
    private static volatile Throwable failure;

    /**
     * Product weight types: float32, bfloat16, or int8 (int8 weights with one scale per output channel; the float32 or
     * bfloat16 activations quantised to uint8 per product with their own scale and zero point; results in the
     * activations' type).
     */
    enum Type {
        F32(memory.data_type.f32), BF16(memory.data_type.bf16), S8(memory.data_type.s8);

        /** The weights' oneDNN type. */
        final memory.data_type dnnl;

        Type(memory.data_type d) {
            this.dnnl = d;
        }

        static Type of(torch.ScalarType s) {
            switch (s) {
                case Float: return F32;
                case BFloat16: return BF16;
                default: throw new IllegalArgumentException("oneDNN products take float32 or bfloat16, not " + s);
            }
        }
    }

    /** What the product's epilogue does after {@code x @ W^T + bias}: activation, then scale, then residual. */
    record Epilogue(Activation activation, boolean scale, boolean residual) {
        static final Epilogue NONE = new Epilogue(null, false, false);
    }

    private final engine engine;
    private final String description;
    /** Symmetric range of int8 weights: 127, or 63 where the int8 kernels could saturate (no VNNI). */
    private final int int8Range;
    private final ThreadLocal<stream> streams;
    private final Map<String, Compiled> primitives = new LinkedHashMap<>(64, 0.75f, true);
    private static final int MAX_PRIMITIVES = 512;

    private OneDnn() {
        try (PointerScope ignored = new PointerScope()) {
            this.engine = new engine(org.bytedeco.dnnl.engine.kind.cpu, 0);
            this.engine.retainReference();
            var v = dnnl.dnnl_version();
            String isa = isaName(dnnl.dnnl_get_effective_cpu_isa());
            // without VNNI, u8 x s8 products sum pairs in saturating 16-bit lanes: 7-bit weights keep them exact
            this.int8Range = java.util.Set.of("sse41", "avx", "avx2", "avx512_core").contains(isa) ? 63 : 127;
            this.description = "oneDNN " + v.major() + "." + v.minor() + "." + v.patch() + " (" + isa + ")";
        }
        this.streams = ThreadLocal.withInitial(() -> {
            stream s = new stream(engine);
            s.retainReference();
            return s;
        });
    }

    private final Map<String, Boolean> supported = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Whether this CPU (as oneDNN sees it: {@code ONEDNN_MAX_CPU_ISA} can lower it) has product kernels for these
     * weight and activation types; probed once by compiling a small product. bfloat16 needs AVX512-BF16, AMX or an
     * emulation oneDNN may not have on older CPUs.
     */
    boolean supports(Type weights, Type activations) {
        return supported.computeIfAbsent(weights + "/" + activations, k -> {
            try (PointerScope ignored = new PointerScope()) {
                // every primitive kind a block compiles for these types: the epilogues, and for int8 the input's
                // quantisation and the activation as its own pass
                product(weights, activations, 32, 64, 64, true, new Epilogue(null, true, true)).release();
                if (weights == Type.S8) {
                    Tensor x = torch.zeros(new long[] {32, 64}, new TensorOptions(activations == Type.BF16
                            ? torch.ScalarType.BFloat16 : torch.ScalarType.Float));
                    quantize(x);
                    activateInPlace(x, Activation.QUICK_GELU);
                } else {
                    product(weights, activations, 32, 64, 64, true, new Epilogue(Activation.GELU, false, false))
                            .release();
                }
                return true;
            } catch (RuntimeException e) {
                return false;
            }
        });
    }

    /** oneDNN's name of the instruction set its kernels use, e.g. {@code avx10_1_512_amx}. */
    private static String isaName(int value) {
        String best = null;
        for (dnnl.cpu_isa isa : dnnl.cpu_isa.values()) {
            if (isa.value == value) {
                best = isa.name();
            }
        }
        return best != null ? best : "isa 0x" + Integer.toHexString(value);
    }

    /**
     * The library, loaded once after libtorch (whose natives {@link TorchNatives} loads first); null when it cannot
     * load, see {@link #failure()}.
     */
    static OneDnn get() {
        OneDnn o = instance;
        if (o != null || failure != null) {
            return o;
        }
        synchronized (LOCK) {
            if (instance != null || failure != null) {
                return instance;
            }
            if (TorchNatives.load() != null) {
                failure = new IllegalStateException("libtorch did not load");
                return null;
            }
            try {
                String platform = Loader.getPlatform();
                for (String root : new String[] {"/org/bytedeco/opencl/" + platform + "/",
                        "/org/bytedeco/dnnl/" + platform + "/"}) {
                    Loader.cacheResources(root);
                }
                Loader.load(dnnl.class);
                instance = new OneDnn();
            } catch (Throwable t) { // missing jar, unsupported CPU: libtorch runs without it
                failure = t;
            }
            return instance;
        }
    }

    /** Why {@link #get()} returned null, or null. */
    static Throwable failure() {
        return failure;
    }

    String description() {
        return description;
    }

    /**
     * A weight {@code [N, K]} (with optional bias and per-output-channel scale, both {@code [N]}) in the layout the
     * product kernels read, for products {@code x [M, K] @ W^T}. Owns native memory until {@link #close()}.
     */
    final class Packed implements AutoCloseable {
        final Type type;
        final long k;
        final long n;
        private final Tensor plain; // [N, K] contiguous, kept for reorders into layouts not seen yet
        private final Tensor bias;  // float32 [N] or null
        private final Tensor scale; // float32 [N] or null
        private final Tensor weightScales; // float32 [N] (int8 only): one dequantisation scale per output channel
        private final List<memory.desc> layouts = new ArrayList<>();
        private final List<memory> packed = new ArrayList<>();
        private boolean closed;

        private Packed(Tensor weight, Tensor bias, Tensor scale, boolean int8) {
            this.type = int8 ? Type.S8 : Type.of(weight.scalar_type().intern());
            this.n = weight.size(0);
            this.k = weight.size(1);
            if (int8) {
                // symmetric per output channel: scale max|w[n,:]| / range, values round(w / scale)
                Tensor w32 = weight.to(torch.ScalarType.Float);
                double range = int8Range;
                Tensor sc = w32.abs().amax(new long[] {1}, true).div(new org.bytedeco.pytorch.Scalar(range))
                        .clamp_min(new org.bytedeco.pytorch.Scalar(Float.MIN_NORMAL));
                this.plain = retain(w32.div(sc).round().clamp(new org.bytedeco.pytorch.ScalarOptional(
                        new org.bytedeco.pytorch.Scalar(-range)), new org.bytedeco.pytorch.ScalarOptional(
                        new org.bytedeco.pytorch.Scalar(range))).to(torch.ScalarType.Char).contiguous());
                this.weightScales = retain(sc.reshape(n).contiguous());
            } else {
                this.plain = retain(weight.contiguous());
                this.weightScales = null;
            }
            this.bias = bias == null ? null : retain(bias.to(torch.ScalarType.Float).contiguous());
            this.scale = scale == null ? null : retain(scale.to(torch.ScalarType.Float).contiguous());
        }

        /** The weight in the layout {@code layout}, reordered from the plain weight the first time. */
        private synchronized memory in(memory.desc layout) {
            if (closed) {
                throw new IllegalStateException("packed weight is closed");
            }
            for (int i = 0; i < layouts.size(); i++) {
                if (layouts.get(i).equals(layout)) {
                    return packed.get(i);
                }
            }
            memory.desc plainDesc = new memory.desc(new long[] {k, n}, type.dnnl, memory.format_tag.ba);
            memory src = new memory(plainDesc, engine, plain.mutable_data_ptr());
            memory dst = retain(new memory(layout, engine));
            stream s = streams.get();
            new reorder(src, dst).execute(s, src, dst);
            s._wait();
            layouts.add(retain(new memory.desc(layout)));
            packed.add(dst);
            return dst;
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            for (memory m : packed) {
                m.releaseReference();
            }
            for (memory.desc d : layouts) {
                d.releaseReference();
            }
            packed.clear();
            layouts.clear();
            plain.releaseReference();
            if (weightScales != null) {
                weightScales.releaseReference();
            }
            if (bias != null) {
                bias.releaseReference();
            }
            if (scale != null) {
                scale.releaseReference();
            }
        }
    }

    /**
     * Packs {@code weight [N, K]} (float32 or bfloat16, the product's type) with its optional bias and scale
     * (any floating type, {@code [N]}).
     */
    Packed pack(Tensor weight, Tensor bias, Tensor scale) {
        return pack(weight, bias, scale, false);
    }

    /** As {@link #pack(Tensor, Tensor, Tensor)}; with {@code int8}, quantised for int8 products. */
    Packed pack(Tensor weight, Tensor bias, Tensor scale, boolean int8) {
        try (PointerScope ignored = new PointerScope()) {
            return new Packed(weight, bias, scale, int8);
        }
    }

    /**
     * A compiled primitive (part 0) and the memory descriptors it was made for (the other parts, null where unused),
     * held by the cache and by each running call.
     */
    private static final class Compiled {
        private final Pointer[] parts;

        Compiled(Pointer... parts) {
            this.parts = parts;
            for (Pointer q : parts) {
                if (q != null) {
                    q.retainReference();
                }
            }
        }

        @SuppressWarnings("unchecked")
        <T extends Pointer> T part(int i) {
            return (T) parts[i];
        }

        Compiled retain() {
            for (Pointer q : parts) {
                if (q != null) {
                    q.retainReference();
                }
            }
            return this;
        }

        void release() {
            for (Pointer q : parts) {
                if (q != null) {
                    q.releaseReference();
                }
            }
        }
    }

    /** The compiled primitive under {@code key}, made once, with a reference taken for the caller. */
    private Compiled acquire(String key, java.util.function.Supplier<Compiled> make) {
        synchronized (primitives) {
            Compiled c = primitives.get(key);
            if (c != null) {
                return c.retain();
            }
        }
        Compiled made;
        try (PointerScope ignored = new PointerScope()) {
            made = make.get(); // its parts hold their own references past this scope
        }
        synchronized (primitives) {
            Compiled known = primitives.putIfAbsent(key, made);
            if (known != null) {
                made.release();
                return known.retain();
            }
            if (primitives.size() > MAX_PRIMITIVES) {
                var it = primitives.entrySet().iterator();
                Compiled old = it.next().getValue();
                it.remove();
                old.release(); // a call running on it still holds the reference it acquired
            }
            return made.retain();
        }
    }

    // parts of a compiled product
    private static final int SRC = 1;
    private static final int WEIGHTS = 2;
    private static final int BIAS = 3;
    private static final int DST = 4;
    private static final int SCALE = 5;
    private static final int RESIDUAL = 6;

    private Compiled product(Type type, Type act, long m, long k, long n, boolean bias, Epilogue e) {
        String key = "linear:" + type + "/" + act + ":" + m + "x" + k + "x" + n + ":" + bias + ":" + e;
        return acquire(key, () -> {
            boolean q = type == Type.S8;
            memory.desc src = new memory.desc(new long[] {m, k}, q ? memory.data_type.u8 : type.dnnl,
                    memory.format_tag.ab);
            memory.desc w = new memory.desc(new long[] {k, n}, type.dnnl, memory.format_tag.any);
            memory.desc b = bias ? new memory.desc(new long[] {1, n}, memory.data_type.f32, memory.format_tag.ab) : null;
            memory.desc dst = new memory.desc(new long[] {m, n}, act.dnnl, memory.format_tag.ab);
            memory.desc sc = e.scale() ? new memory.desc(new long[] {1, n}, memory.data_type.f32, memory.format_tag.ab)
                    : null;
            memory.desc res = e.residual() ? new memory.desc(new long[] {m, n}, act.dnnl,
                    memory.format_tag.ab) : null;
            primitive_attr attr = new primitive_attr();
            if (q) {
                attr.set_scales_mask(dnnl.DNNL_ARG_SRC, 0);
                attr.set_zero_points_mask(dnnl.DNNL_ARG_SRC, 0);
                attr.set_scales_mask(dnnl.DNNL_ARG_WEIGHTS, 1 << 1);
            }
            post_ops ops = new post_ops();
            if (e.activation() != null) {
                switch (e.activation()) {
                    case GELU: ops.append_eltwise(dnnl.algorithm.eltwise_gelu_erf, 0f, 0f); break;
                    case GELU_TANH: ops.append_eltwise(dnnl.algorithm.eltwise_gelu_tanh, 0f, 0f); break;
                    case QUICK_GELU: ops.append_eltwise(dnnl.algorithm.eltwise_swish, 1.702f, 0f); break;
                    default: throw new AssertionError(e.activation());
                }
            }
            if (sc != null) {
                ops.append_binary(dnnl.algorithm.binary_mul, sc);
            }
            if (res != null) {
                ops.append_binary(dnnl.algorithm.binary_add, res);
            }
            attr.set_post_ops(ops);
            matmul.primitive_desc pd = b != null ? new matmul.primitive_desc(engine, src, w, b, dst, attr, false)
                    : new matmul.primitive_desc(engine, src, w, dst, attr, false);
            return new Compiled(new matmul(pd), src, new memory.desc(pd.weights_desc()), b, dst, sc, res);
        });
    }

    private static <T extends Pointer> T retain(T p) {
        p.retainReference();
        return p;
    }

    /**
     * {@code epilogue(x @ W^T + bias)}: {@code x [M, K]} contiguous in the packed weight's type, residual {@code [M, N]}
     * contiguous in that type when the epilogue adds one. Returns a new {@code [M, N]} tensor of that type. Runs
     * inside the caller's pointer scope.
     */
    Tensor linear(Tensor x, Packed w, Epilogue e, Tensor residual) {
        long m = x.size(0);
        Type in = Type.of(x.scalar_type().intern());
        if (x.dim() != 2 || x.size(1) != w.k || !x.is_contiguous() || (w.type != Type.S8 && in != w.type)) {
            throw new IllegalArgumentException("oneDNN product: input " + java.util.Arrays.toString(x.shape())
                    + " does not fit the packed weight [" + w.n + ", " + w.k + "] of " + w.type);
        }
        if (e.scale() && w.scale == null) {
            throw new IllegalArgumentException("oneDNN product: the epilogue scales but the weight has no scale");
        }
        if (w.type == Type.S8 && e.activation() != null) {
            // int8 products run activation post-ops ~15x slower than the product itself here (measured: fc1 of
            // ViT-B/16 28.8 ms with the post-op, 1.9 ms without): apply it as its own pass
            if (e.scale() || e.residual()) {
                throw new IllegalArgumentException("oneDNN int8 product: activation with scale or residual");
            }
            Tensor y = linear(x, w, Epilogue.NONE, null);
            activateInPlace(y, e.activation());
            return y;
        }
        Compiled p = product(w.type, in, m, w.k, w.n, w.bias != null, e);
        try {
            return run(p, x, w, e, residual);
        } finally {
            p.release();
        }
    }

    /** {@code activation(y)} in place on a contiguous float32 or bfloat16 tensor. */
    private void activateInPlace(Tensor y, Activation a) {
        long count = y.numel();
        Type t = Type.of(y.scalar_type().intern());
        Compiled c = acquire("eltwise:" + a + ":" + t + ":" + count, () -> {
            memory.desc d = new memory.desc(new long[] {count}, t.dnnl, memory.format_tag.a);
            dnnl.algorithm alg;
            float alpha = 0f;
            switch (a) {
                case GELU: alg = dnnl.algorithm.eltwise_gelu_erf; break;
                case GELU_TANH: alg = dnnl.algorithm.eltwise_gelu_tanh; break;
                case QUICK_GELU: alg = dnnl.algorithm.eltwise_swish; alpha = 1.702f; break;
                default: throw new AssertionError(a);
            }
            return new Compiled(new org.bytedeco.dnnl.eltwise_forward(new org.bytedeco.dnnl.eltwise_forward
                    .primitive_desc(engine, dnnl.prop_kind.forward_inference, alg, d, d, alpha, 0f)), d);
        });
        try {
            memory m = new memory(c.part(1), engine, y.mutable_data_ptr());
            IntMemoryMap args = new IntMemoryMap();
            args.put(dnnl.DNNL_ARG_SRC, m);
            args.put(dnnl.DNNL_ARG_DST, m);
            stream s = streams.get();
            c.<org.bytedeco.dnnl.eltwise_forward>part(0).execute(s, args);
            s._wait();
        } finally {
            c.release();
        }
    }

    private Tensor run(Compiled p, Tensor x, Packed w, Epilogue e, Tensor residual) {
        long m = x.size(0);
        memory weights = w.in(p.part(WEIGHTS));
        Tensor out = torch.empty(new long[] {m, w.n}, new TensorOptions(x.scalar_type().intern()),
                new org.bytedeco.pytorch.MemoryFormatOptional());
        IntMemoryMap args = new IntMemoryMap();
        if (w.type == Type.S8) {
            Quantized q = quantize(x);
            args.put(dnnl.DNNL_ARG_SRC, new memory(p.part(SRC), engine, q.values().mutable_data_ptr()));
            args.put(dnnl.DNNL_ARG_ATTR_SCALES | dnnl.DNNL_ARG_SRC, scalarMemory(q.scale()));
            args.put(dnnl.DNNL_ARG_ATTR_ZERO_POINTS | dnnl.DNNL_ARG_SRC, scalarMemory(q.zeroPoint()));
            args.put(dnnl.DNNL_ARG_ATTR_SCALES | dnnl.DNNL_ARG_WEIGHTS, new memory(new memory.desc(new long[] {w.n},
                    memory.data_type.f32, memory.format_tag.a), engine, w.weightScales.mutable_data_ptr()));
        } else {
            args.put(dnnl.DNNL_ARG_SRC, new memory(p.part(SRC), engine, x.mutable_data_ptr()));
        }
        args.put(dnnl.DNNL_ARG_WEIGHTS, weights);
        args.put(dnnl.DNNL_ARG_DST, new memory(p.part(DST), engine, out.mutable_data_ptr()));
        if (w.bias != null) {
            args.put(dnnl.DNNL_ARG_BIAS, new memory(p.part(BIAS), engine, w.bias.mutable_data_ptr()));
        }
        int post = e.activation() != null ? 1 : 0;
        if (e.scale()) {
            args.put(postOpSource(post++), new memory(p.part(SCALE), engine, w.scale.mutable_data_ptr()));
        }
        if (e.residual()) {
            if (residual == null || residual.dim() != 2 || residual.size(0) != m || residual.size(1) != w.n
                    || !residual.is_contiguous() || residual.scalar_type().intern() != x.scalar_type().intern()) {
                throw new IllegalArgumentException("oneDNN product: residual does not match the output [" + m + ", "
                        + w.n + "]");
            }
            args.put(postOpSource(post), new memory(p.part(RESIDUAL), engine, residual.mutable_data_ptr()));
        }
        stream s = streams.get();
        p.<matmul>part(0).execute(s, args);
        s._wait();
        return out;
    }

    // parts of a compiled attention: products and softmax, then the descriptors of q, k^T, scores, probabilities, v, out
    private static final int SOFTMAX = 1;
    private static final int VALUES = 2;
    private static final int Q = 3;
    private static final int KT = 4;
    private static final int SCORES = 5;
    private static final int PROBS = 6;
    private static final int V = 7;
    private static final int OUT = 8;

    /**
     * Unmasked self-attention {@code softmax(q k^T * scale) v} read in place from a q/k/v product's output
     * {@code qkv [B*N, 3*D]} (rows of {@code [3, heads, dh]}), written as {@code [B*N, D]} rows of
     * {@code [heads, dh]}: the layout the output projection reads, with no permutes. Scores and the softmax are
     * float32; the probabilities enter the second product in the compute type (as libtorch's fused kernel does).
     */
    Tensor attention(Tensor qkv, long b, long n, int heads, long dh, double scale) {
        Type type = Type.of(qkv.scalar_type().intern());
        long d = heads * dh;
        if (qkv.dim() != 2 || qkv.size(0) != b * n || qkv.size(1) != 3 * d || !qkv.is_contiguous()) {
            throw new IllegalArgumentException("oneDNN attention: q/k/v " + java.util.Arrays.toString(qkv.shape())
                    + " is not [" + b * n + ", " + 3 * d + "]");
        }
        String key = "attention:" + type + ":" + b + "x" + n + "x" + heads + "x" + dh + ":" + scale;
        Compiled c = acquire(key, () -> {
            long row = 3 * d;
            memory.desc q = new memory.desc(new long[] {b, heads, n, dh}, type.dnnl, new long[] {n * row, dh, row, 1});
            memory.desc kt = new memory.desc(new long[] {b, heads, dh, n}, type.dnnl, new long[] {n * row, dh, 1, row});
            memory.desc v = new memory.desc(new long[] {b, heads, n, dh}, type.dnnl, new long[] {n * row, dh, row, 1});
            memory.desc scores = new memory.desc(new long[] {b, heads, n, n}, memory.data_type.f32,
                    memory.format_tag.abcd);
            memory.desc probs = new memory.desc(new long[] {b, heads, n, n}, type.dnnl, memory.format_tag.abcd);
            memory.desc out = new memory.desc(new long[] {b, heads, n, dh}, type.dnnl, new long[] {n * d, dh, d, 1});
            primitive_attr scaled = new primitive_attr();
            post_ops ops = new post_ops();
            ops.append_eltwise(dnnl.algorithm.eltwise_linear, (float) scale, 0f);
            scaled.set_post_ops(ops);
            matmul first = new matmul(new matmul.primitive_desc(engine, q, kt, scores, scaled, false));
            org.bytedeco.dnnl.softmax_forward softmax = new org.bytedeco.dnnl.softmax_forward(
                    new org.bytedeco.dnnl.softmax_forward.primitive_desc(engine, dnnl.prop_kind.forward_inference,
                            dnnl.algorithm.softmax_accurate, scores, probs, 3));
            matmul second = new matmul(new matmul.primitive_desc(engine, probs, v, out));
            return new Compiled(first, softmax, second, q, kt, scores, probs, v, out);
        });
        try {
            long elem = type == Type.F32 ? 4 : 2;
            Pointer base = qkv.mutable_data_ptr();
            Tensor scores = torch.empty(new long[] {b, heads, n, n}, new TensorOptions(torch.ScalarType.Float),
                    new org.bytedeco.pytorch.MemoryFormatOptional());
            Tensor probs = type == Type.F32 ? scores : torch.empty(new long[] {b, heads, n, n},
                    new TensorOptions(qkv.scalar_type().intern()), new org.bytedeco.pytorch.MemoryFormatOptional());
            Tensor out = torch.empty(new long[] {b * n, d}, new TensorOptions(qkv.scalar_type().intern()),
                    new org.bytedeco.pytorch.MemoryFormatOptional());
            memory qm = new memory(c.part(Q), engine, base);
            memory km = new memory(c.part(KT), engine, offset(base, d * elem));
            memory vm = new memory(c.part(V), engine, offset(base, 2 * d * elem));
            memory sm = new memory(c.part(SCORES), engine, scores.mutable_data_ptr());
            memory pm = new memory(c.part(PROBS), engine, probs.mutable_data_ptr());
            memory om = new memory(c.part(OUT), engine, out.mutable_data_ptr());
            stream s = streams.get();
            IntMemoryMap a1 = new IntMemoryMap();
            a1.put(dnnl.DNNL_ARG_SRC, qm);
            a1.put(dnnl.DNNL_ARG_WEIGHTS, km);
            a1.put(dnnl.DNNL_ARG_DST, sm);
            c.<matmul>part(0).execute(s, a1);
            IntMemoryMap a2 = new IntMemoryMap();
            a2.put(dnnl.DNNL_ARG_SRC, sm);
            a2.put(dnnl.DNNL_ARG_DST, pm);
            c.<org.bytedeco.dnnl.softmax_forward>part(SOFTMAX).execute(s, a2);
            IntMemoryMap a3 = new IntMemoryMap();
            a3.put(dnnl.DNNL_ARG_SRC, pm);
            a3.put(dnnl.DNNL_ARG_WEIGHTS, vm);
            a3.put(dnnl.DNNL_ARG_DST, om);
            c.<matmul>part(VALUES).execute(s, a3);
            s._wait();
            return out;
        } finally {
            c.release();
        }
    }

    /** A product's input as uint8 with its scale ({@code float32 [1]}) and zero point ({@code int32 [1]}). */
    private record Quantized(Tensor values, Tensor scale, Tensor zeroPoint) {
    }

    /**
     * Dynamic quantisation of activations, per tensor and asymmetric as ONNX Runtime's DynamicQuantizeLinear: the
     * range {@code [min(0, min x), max(0, max x)]} mapped onto 0..255, {@code zp = round(-lo / scale)}.
     */
    private Quantized quantize(Tensor x) {
        var mm = torch.aminmax(x);
        float lo = Math.min(0f, mm.get0().item_float());
        float hi = Math.max(0f, mm.get1().item_float());
        if (!Float.isFinite(lo) || !Float.isFinite(hi)) {
            throw new dev.visiontower.api.InvalidInputException("int8 product: the input holds non-finite values");
        }
        float scale = hi > lo ? (hi - lo) / 255f : 1f;
        int zp = Math.max(0, Math.min(255, Math.round(-lo / scale)));
        long m = x.size(0);
        long k = x.size(1);
        Tensor values = torch.empty(new long[] {m, k}, new TensorOptions(torch.ScalarType.Byte),
                new org.bytedeco.pytorch.MemoryFormatOptional());
        Tensor s = torch.full(new long[] {1}, new org.bytedeco.pytorch.Scalar(scale),
                new TensorOptions(torch.ScalarType.Float));
        Tensor z = torch.full(new long[] {1}, new org.bytedeco.pytorch.Scalar(zp),
                new TensorOptions(torch.ScalarType.Int));
        Type t = Type.of(x.scalar_type().intern());
        Compiled c = acquire("quantize:" + t + ":" + m + "x" + k, () -> {
            memory.desc from = new memory.desc(new long[] {m, k}, t.dnnl, memory.format_tag.ab);
            memory.desc to = new memory.desc(new long[] {m, k}, memory.data_type.u8, memory.format_tag.ab);
            primitive_attr attr = new primitive_attr();
            attr.set_scales_mask(dnnl.DNNL_ARG_DST, 0);
            attr.set_zero_points_mask(dnnl.DNNL_ARG_DST, 0);
            org.bytedeco.dnnl.reorder.primitive_desc pd = new org.bytedeco.dnnl.reorder.primitive_desc(engine, from,
                    engine, to, attr, false);
            return new Compiled(new reorder(pd), from, to);
        });
        try {
            IntMemoryMap args = new IntMemoryMap();
            args.put(dnnl.DNNL_ARG_FROM, new memory(c.part(1), engine, x.mutable_data_ptr()));
            args.put(dnnl.DNNL_ARG_TO, new memory(c.part(2), engine, values.mutable_data_ptr()));
            args.put(dnnl.DNNL_ARG_ATTR_SCALES | dnnl.DNNL_ARG_DST, scalarMemory(s));
            args.put(dnnl.DNNL_ARG_ATTR_ZERO_POINTS | dnnl.DNNL_ARG_DST, scalarMemory(z));
            stream st = streams.get();
            c.<reorder>part(0).execute(st, args);
            st._wait();
        } finally {
            c.release();
        }
        return new Quantized(values, s, z);
    }

    /** A one-element float32 or int32 tensor as oneDNN memory. */
    private memory scalarMemory(Tensor t) {
        memory.data_type dt = t.scalar_type().intern() == torch.ScalarType.Float ? memory.data_type.f32
                : memory.data_type.s32;
        return new memory(new memory.desc(new long[] {1}, dt, memory.format_tag.a), engine, t.mutable_data_ptr());
    }

    /** {@code bytes} past {@code base} (whose position is 0). */
    private static Pointer offset(Pointer base, long bytes) {
        return new Pointer(base) {
            {
                address += bytes;
            }
        };
    }

    /** The execution argument of binary post-op number {@code index}'s second operand. */
    private static int postOpSource(int index) {
        return dnnl.DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * (index + 1) | dnnl.DNNL_ARG_SRC_1;
    }
}
