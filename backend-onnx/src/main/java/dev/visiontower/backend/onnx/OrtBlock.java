package dev.visiontower.backend.onnx;

import dev.visiontower.api.Activation;
import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.BlockSpec;
import dev.visiontower.api.nn.NormKind;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.nn.TransformerBlock;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * A pre-norm transformer block recorded with ONNX Runtime's transformer operators (domain {@code com.microsoft}),
 * reading the same canonical parameters as the reference block. Each fusion can be switched off on its own (backend
 * option {@code fusions}), so each was measured alone:
 * <ul>
 *   <li>{@link Fusion#ATTENTION}: q, k and v from one product on the three weights concatenated once, split into
 *       three, attention by {@code MultiHeadAttention} with the q/k/v biases as its bias input, masks as its additive
 *       attention bias;</li>
 *   <li>{@link Fusion#SKIP_LAYER_NORM}: the residual add of the attention branch, its bias and the second norm as one
 *       {@code SkipLayerNormalization} ({@code SkipSimplifiedLayerNormalization} for RMSNorm);</li>
 *   <li>{@link Fusion#BIAS_GELU}: fc1's bias with its activation ({@code BiasGelu}, {@code FastGelu}, or
 *       {@code QuickGelu}).</li>
 * </ul>
 * Products are the backend's ({@link OrtBackend#product}): float32 MatMul, or DynamicQuantizeMatMul with int8
 * compute. Blocks with q/k norm keep the reference attention.
 */
final class OrtBlock implements TransformerBlock {
    /** The fusions a block may use. */
    enum Fusion {
        ATTENTION, SKIP_LAYER_NORM, BIAS_GELU;

        /** Parses {@code all}, {@code none} or a comma-separated list such as {@code attention,bias_gelu}. */
        static Set<Fusion> parse(String spec) {
            String s = spec.trim().toLowerCase(Locale.ROOT);
            if (s.equals("all")) {
                return EnumSet.allOf(Fusion.class);
            }
            Set<Fusion> out = EnumSet.noneOf(Fusion.class);
            if (s.equals("none") || s.isEmpty()) {
                return out;
            }
            for (String part : s.split(",")) {
                try {
                    out.add(Fusion.valueOf(part.trim().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new InvalidInputException("onnx option fusions: unknown fusion '" + part.trim()
                            + "', expected all, none or a list of attention, skip_layer_norm, bias_gelu");
                }
            }
            return out;
        }
    }

    private final OrtBackend backend;
    private final BlockSpec spec;
    private final Parameters p;
    private final TransformerBlock reference;
    private final Set<Fusion> fusions;

    OrtBlock(OrtBackend backend, BlockSpec spec, Parameters p, TransformerBlock reference, Set<Fusion> fusions) {
        this.backend = backend;
        this.spec = spec;
        this.p = p;
        this.reference = reference;
        this.fusions = fusions;
    }

    private OrtTensor param(String name) {
        return backend.own(p.get(name));
    }

    private Object optional(String name) {
        return p.has(name) ? param(name) : null;
    }

    @Override
    public Tensor forward(Tensor x, Tensor mask) {
        if (!(x instanceof OrtTensor) || x.backend() != backend || x.rank() != 3 || x.dim(2) != spec.width()
                || x.dtype() != DType.FLOAT32 || fusions.isEmpty()) {
            return reference.forward(x, mask);
        }
        long b = x.dim(0);
        long n = x.dim(1);
        long d = spec.width();
        long[] tokens = {b, n, d};
        try (TensorScope scope = backend.newScope()) {
            Tensor h;
            OrtBackend.Residual before = fusions.contains(Fusion.SKIP_LAYER_NORM) ? backend.residualOf(x) : null;
            if (before != null) {
                // x = y + branch (+ bias) of the previous block: its add and this norm as one operator
                OrtTensor[] outs = skipNorm(before.branch(), before.sum(), "norm1.", before.bias(), b, n);
                h = outs[0];
                x = outs[3];
            } else {
                h = norm(x, "norm1.");
            }
            Tensor a = fusions.contains(Fusion.ATTENTION) && !spec.qkNorm() && oneBiasForAllHeads(mask, b, n)
                    ? attention(h, mask, b, n) : referenceAttention(h, mask);
            Tensor y;
            Tensor h2;
            if (fusions.contains(Fusion.SKIP_LAYER_NORM)) {
                Tensor o;
                Object bias;
                if (spec.layerScale()) {
                    o = backend.ops().mul(backend.product(a, ProductWeight.of(param("attn.proj.weight")), d,
                            param("attn.proj.bias")), param("ls1"));
                    bias = null;
                } else {
                    o = backend.product(a, ProductWeight.of(param("attn.proj.weight")), d, null);
                    bias = param("attn.proj.bias");
                }
                OrtTensor[] outs = skipNorm(o, x, "norm2.", bias, b, n);
                h2 = outs[0];
                y = outs[3];
            } else {
                Tensor o = backend.product(a, ProductWeight.of(param("attn.proj.weight")), d, param("attn.proj.bias"));
                if (spec.layerScale()) {
                    o = backend.ops().mul(o, param("ls1"));
                }
                y = backend.ops().add(x, o);
                h2 = norm(y, "norm2.");
            }
            Tensor f = mlpHidden(h2, b, n);
            ProductWeight fc2 = ProductWeight.of(param("mlp.fc2.weight"));
            Tensor out;
            if (spec.layerScale()) {
                Tensor m = backend.ops().mul(backend.product(f, fc2, d, param("mlp.fc2.bias")), param("ls2"));
                out = scope.keep(backend.ops().add(y, m));
                backend.residual(out, new OrtBackend.Residual(scope.keep(y), scope.keep(m), null));
            } else {
                Tensor m = backend.product(f, fc2, d, null);
                out = scope.keep(backend.ops().add(y, backend.ops().add(m, param("mlp.fc2.bias"))));
                backend.residual(out, new OrtBackend.Residual(scope.keep(y), scope.keep(m), param("mlp.fc2.bias")));
            }
            return out;
        }
    }

    /**
     * {@code SkipLayerNormalization(input, skip, gamma, beta, bias)} (or the simplified one for RMSNorm): outputs the
     * normalised sum (0) and the sum {@code input + skip + bias} (3).
     */
    private OrtTensor[] skipNorm(Tensor input, Tensor skip, String prefix, Object bias, long b, long n) {
        long[] tokens = {b, n, spec.width()};
        long[] stats = {b, n, 1};
        DType[] types = {DType.FLOAT32, DType.FLOAT32, DType.FLOAT32, DType.FLOAT32};
        Protobuf eps = OnnxGraph.attrs();
        OnnxGraph.attrFloat(eps, "epsilon", (float) spec.normEps());
        return spec.norm() == NormKind.LAYER_NORM
                ? backend.contrib("SkipLayerNormalization", new long[][] {tokens, stats, stats, tokens}, types, eps,
                        input, skip, param(prefix + "weight"), param(prefix + "bias"), bias)
                : backend.contrib("SkipSimplifiedLayerNormalization", new long[][] {tokens, stats, stats, tokens},
                        types, eps, input, skip, param(prefix + "weight"), bias);
    }

    private Tensor norm(Tensor x, String prefix) {
        return spec.norm() == NormKind.LAYER_NORM
                ? backend.ops().layerNorm(x, param(prefix + "weight"), param(prefix + "bias"), spec.normEps())
                : backend.ops().rmsNorm(x, param(prefix + "weight"), spec.normEps());
    }

    /** fc1 and the activation. */
    private Tensor mlpHidden(Tensor h, long b, long n) {
        long w = spec.mlpWidth();
        ProductWeight fc1 = ProductWeight.of(param("mlp.fc1.weight"));
        Object bias = optional("mlp.fc1.bias");
        if (!fusions.contains(Fusion.BIAS_GELU) || bias == null) {
            return backend.ops().activation(backend.product(h, fc1, w, bias), spec.activation());
        }
        long[] shape = {b, n, w};
        DType[] f32 = {DType.FLOAT32};
        if (spec.activation() == Activation.QUICK_GELU) {
            Protobuf alpha = OnnxGraph.attrs();
            OnnxGraph.attrFloat(alpha, "alpha", 1.702f);
            return backend.contrib("QuickGelu", new long[][] {shape}, f32, alpha, backend.product(h, fc1, w, bias))[0];
        }
        String op = spec.activation() == Activation.GELU ? "BiasGelu" : "FastGelu";
        return backend.contrib(op, new long[][] {shape}, f32, null, backend.product(h, fc1, w, null), bias)[0];
    }

    /** The reference attention on three products (q/k norm and the unfused setting). */
    private Tensor referenceAttention(Tensor h, Tensor mask) {
        var ops = backend.ops();
        long d = spec.width();
        Tensor q = backend.product(h, ProductWeight.of(param("attn.q.weight")), d, optional("attn.q.bias"));
        Tensor k = backend.product(h, ProductWeight.of(param("attn.k.weight")), d, optional("attn.k.bias"));
        Tensor v = backend.product(h, ProductWeight.of(param("attn.v.weight")), d, optional("attn.v.bias"));
        if (spec.qkNorm()) {
            q = ops.rmsNorm(q, param("attn.q_norm.weight"), spec.normEps());
            k = ops.rmsNorm(k, param("attn.k_norm.weight"), spec.normEps());
        }
        Tensor a = ops.attention(heads(q), heads(k), heads(v), mask, spec.causal(), 1.0 / Math.sqrt(spec.headDim()));
        long n = h.dim(1);
        return ops.reshape(ops.permute(a, 0, 2, 1, 3), -1, n, d);
    }

    private Tensor heads(Tensor x) {
        var ops = backend.ops();
        return ops.permute(ops.reshape(x, -1, x.dim(1), spec.heads(), spec.headDim()), 0, 2, 1, 3);
    }

    /**
     * One product for q, k and v (the three weights concatenated once), split, and MultiHeadAttention with the q/k/v
     * biases as its bias input; a padding mask and causality become its additive attention bias {@code [B|1, 1, N, N]}.
     */
    private Tensor attention(Tensor h, Tensor mask, long b, long n) {
        int heads = spec.heads();
        long d = spec.width();
        OrtTensor q = param("attn.q.weight");
        OrtTensor k = param("attn.k.weight");
        OrtTensor v = param("attn.v.weight");
        ProductWeight qkv = new ProductWeight(q, "qkv", () -> concat0(q.value, k.value, v.value));
        Object bias = null;
        if (spec.qkvBias()) {
            OrtTensor qb = param("attn.q.bias");
            OrtTensor kb = param("attn.k.bias");
            OrtTensor vb = param("attn.v.bias");
            bias = new OrtTensor.Derived(q, "qkv-bias", () -> concat0(qb.value, kb.value, vb.value));
        }
        long[] tokens = {b, n, d};
        Protobuf axis = OnnxGraph.attrs();
        OnnxGraph.attrInt(axis, "axis", -1);
        OnnxGraph.attrInt(axis, "num_outputs", 3);
        OrtTensor[] parts = backend.splitNode(backend.product(h, qkv, 3 * d, null), axis, tokens, tokens, tokens);
        Protobuf attrs = OnnxGraph.attrs();
        OnnxGraph.attrInt(attrs, "num_heads", heads);
        OnnxGraph.attrFloat(attrs, "scale", (float) (1.0 / Math.sqrt(spec.headDim())));
        return backend.contrib("MultiHeadAttention", new long[][] {tokens}, new DType[] {DType.FLOAT32}, attrs,
                parts[0], parts[1], parts[2], bias, null, attentionBias(mask, b, n))[0];
    }

    static HostTensor concat0(HostTensor... parts) {
        return HostTensor.concat0(java.util.List.of(parts));
    }

    /** Whether a mask can be MultiHeadAttention's bias: null, or {@code [B|1, 1, N|1, N]} (one value for all heads). */
    private static boolean oneBiasForAllHeads(Tensor mask, long b, long n) {
        if (mask == null) {
            return true;
        }
        long[] s = mask.shape();
        return s.length == 4 && s[1] == 1 && (s[0] == 1 || s[0] == b) && (s[2] == 1 || s[2] == n) && s[3] == n;
    }

    /**
     * An additive {@code [B|1, 1, N, N]} bias from a padding mask broadcastable to {@code [B, H, N, N]} and causality:
     * a tensor, a constant, or null.
     */
    private Object attentionBias(Tensor mask, long b, long n) {
        var ops = backend.ops();
        Tensor bias = null;
        if (mask != null) {
            bias = ops.expand(mask, mask.dim(0), 1, n, n); // shape checked by oneBiasForAllHeads
        }
        if (spec.causal()) {
            float[] c = new float[(int) (n * n)];
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    c[(int) (i * n + j)] = Float.NEGATIVE_INFINITY;
                }
            }
            HostTensor causal = HostTensor.ofFloats(c, 1, 1, n, n);
            return bias == null ? causal
                    : backend.node("Add", new long[] {bias.dim(0), 1, n, n}, DType.FLOAT32, null, bias, causal);
        }
        return bias;
    }

}
