package dev.visiontower.backend.libtorch;

import dev.visiontower.api.DType;
import dev.visiontower.api.nn.BlockSpec;
import dev.visiontower.api.nn.NormKind;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.nn.TransformerBlock;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.List;

/**
 * A pre-norm transformer block for CPU inference with its four products on oneDNN ({@link OneDnn}), reading the same
 * canonical parameters as the reference block ({@link BlockSpec}): one product computes q, k and v together (the
 * three weights concatenated and packed once), attention is libtorch's fused scaled-dot-product attention reading
 * q, k and v in place (or, with option attention=onednn, two oneDNN products around a float32 softmax), the output
 * projection's epilogue adds bias, layer scale and residual, fc1's applies bias and activation, fc2's adds bias, layer
 * scale and residual. Norms are libtorch's. Activations stay in the backend's tensor type (float32 or bfloat16;
 * oneDNN accumulates in float32); with int8 compute the products quantise their inputs.
 *
 * <p>The reference block runs instead whenever gradients may be wanted (grad mode on, an input or weight that
 * requires grad, autocast), so training sees exactly the operations it differentiates. Packed weights are rebuilt
 * when a weight changes in place (libtorch's version counter), e.g. after an optimiser step.
 */
final class OneDnnBlock implements TransformerBlock {
    private static final String KEY = "onednn-block";

    private final TorchBackend backend;
    private final OneDnn dnnl;
    private final BlockSpec spec;
    private final Parameters p;
    private final TransformerBlock reference;
    private final List<String> sources;
    private final double scale;

    OneDnnBlock(TorchBackend backend, OneDnn dnnl, BlockSpec spec, Parameters p, TransformerBlock reference) {
        this.backend = backend;
        this.dnnl = dnnl;
        this.spec = spec;
        this.p = p;
        this.reference = reference;
        java.util.List<String> names = new java.util.ArrayList<>();
        java.util.Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        spec.parameterShapes("", shapes);
        names.addAll(shapes.keySet());
        this.sources = List.copyOf(names);
        this.scale = 1.0 / Math.sqrt(spec.headDim());
    }

    /** Whether the block's shapes suit the fused path (heads divide the width evenly). */
    static boolean supports(BlockSpec spec) {
        return spec.width() % spec.heads() == 0;
    }

    /** The packed products of one block, and the parameter versions they were made from. */
    private static final class Packed implements AutoCloseable {
        final OneDnn.Packed qkv;
        final OneDnn.Packed proj;
        final OneDnn.Packed fc1;
        final OneDnn.Packed fc2;
        final long[] versions;

        Packed(OneDnn.Packed qkv, OneDnn.Packed proj, OneDnn.Packed fc1, OneDnn.Packed fc2, long[] versions) {
            this.qkv = qkv;
            this.proj = proj;
            this.fc1 = fc1;
            this.fc2 = fc2;
            this.versions = versions;
        }

        @Override
        public void close() {
            qkv.close();
            proj.close();
            fc1.close();
            fc2.close();
        }
    }

    private TorchTensor param(String name) {
        return (TorchTensor) p.get(name);
    }

    private Tensor nat(String name) {
        return name == null || !p.has(name) ? null : param(name).t();
    }

    private long[] versions() {
        long[] v = new long[sources.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = param(sources.get(i)).version();
        }
        return v;
    }

    private Packed packed() {
        long[] now = versions();
        return param("attn.q.weight").packed(KEY, Packed.class, () -> pack(now),
                held -> !java.util.Arrays.equals(held.versions, now));
    }

    private Packed pack(long[] versions) {
        try (org.bytedeco.javacpp.PointerScope ignored = new org.bytedeco.javacpp.PointerScope()) {
            Tensor w = torch.cat(new TensorVector(nat("attn.q.weight"), nat("attn.k.weight"), nat("attn.v.weight")), 0);
            Tensor b = spec.qkvBias() ? torch.cat(new TensorVector(nat("attn.q.bias"), nat("attn.k.bias"),
                    nat("attn.v.bias")), 0) : null;
            boolean q8 = backend.int8();
            OneDnn.Packed qkv = dnnl.pack(w, b, null, q8);
            OneDnn.Packed proj = null;
            OneDnn.Packed fc1 = null;
            try {
                proj = dnnl.pack(nat("attn.proj.weight"), nat("attn.proj.bias"), spec.layerScale() ? nat("ls1") : null,
                        q8);
                fc1 = dnnl.pack(nat("mlp.fc1.weight"), nat("mlp.fc1.bias"), null, q8);
                OneDnn.Packed fc2 = dnnl.pack(nat("mlp.fc2.weight"), nat("mlp.fc2.bias"),
                        spec.layerScale() ? nat("ls2") : null, q8);
                return new Packed(qkv, proj, fc1, fc2, versions);
            } catch (RuntimeException e) {
                qkv.close();
                if (proj != null) {
                    proj.close();
                }
                if (fc1 != null) {
                    fc1.close();
                }
                throw e;
            }
        }
    }

    /** Whether this call may take the fused path: inference on this backend's CPU tensors of its compute type. */
    private boolean fusable(dev.visiontower.api.Tensor x, dev.visiontower.api.Tensor mask) {
        if (!(x instanceof TorchTensor) || x.backend() != backend || x.rank() != 3 || x.dim(2) != spec.width()
                || x.dtype() != backend.tensorType() || x.dim(0) * x.dim(1) == 0) {
            return false;
        }
        if (mask != null && !(mask instanceof TorchTensor && mask.backend() == backend)) {
            return false;
        }
        dev.visiontower.api.Tensor[] all = new dev.visiontower.api.Tensor[sources.size() + 1];
        all[0] = x;
        for (int i = 0; i < sources.size(); i++) {
            all[i + 1] = p.get(sources.get(i));
        }
        return backend.inference(all);
    }

    @Override
    public dev.visiontower.api.Tensor forward(dev.visiontower.api.Tensor x, dev.visiontower.api.Tensor mask) {
        if (!fusable(x, mask)) {
            return reference.forward(x, mask);
        }
        Packed w = packed();
        long b = x.dim(0);
        long n = x.dim(1);
        long d = spec.width();
        long m = b * n;
        int heads = spec.heads();
        long dh = spec.headDim();
        Tensor maskNative = mask == null ? null : ((TorchTensor) mask).t();
        Tensor xin = ((TorchTensor) x).t();
        return backend.wrapNative(() -> {
            Tensor x2 = xin.reshape(m, d).contiguous();
            Tensor h = norm(x2, "norm1.");
            Tensor qkv = dnnl.linear(h, w.qkv, OneDnn.Epilogue.NONE, null);
            Tensor a2;
            if (backend.dnnlAttention() && !spec.qkNorm() && maskNative == null && !spec.causal()) {
                a2 = dnnl.attention(qkv, b, n, heads, dh, scale);
            } else {
                a2 = attention(qkv, maskNative, b, n, heads, dh);
            }
            OneDnn.Epilogue residual = new OneDnn.Epilogue(null, spec.layerScale(), true);
            Tensor y = dnnl.linear(a2, w.proj, residual, x2);
            Tensor f = dnnl.linear(norm(y, "norm2."), w.fc1, new OneDnn.Epilogue(spec.activation(), false, false),
                    null);
            return dnnl.linear(f, w.fc2, residual, y).view(b, n, d);
        });
    }

    /** Attention through libtorch's fused kernel (masks, causal, q/k norm); {@code [M, D]} rows of heads. */
    private Tensor attention(Tensor qkv, Tensor mask, long b, long n, int heads, long dh) {
        long d = heads * dh;
        Tensor q;
        Tensor k;
        Tensor v;
        if (spec.qkNorm()) {
            q = headsView(rms(qkv.narrow(1, 0, d), "attn.q_norm.weight"), b, n, heads, dh);
            k = headsView(rms(qkv.narrow(1, d, d), "attn.k_norm.weight"), b, n, heads, dh);
            v = headsView(qkv.narrow(1, 2 * d, d), b, n, heads, dh);
        } else {
            Tensor planes = qkv.view(b, n, 3, heads, dh).permute(2, 0, 3, 1, 4);
            q = planes.select(0, 0);
            k = planes.select(0, 1);
            v = planes.select(0, 2);
        }
        Tensor a = backend.attentionNative(q, k, v, mask, spec.causal(), scale);
        return a.transpose(1, 2).reshape(b * n, d).contiguous();
    }

    /** {@code [M, D]} rows as {@code [B, H, N, Dh]} (a view). */
    private static Tensor headsView(Tensor rows, long b, long n, int heads, long dh) {
        return rows.reshape(b, n, heads, dh).transpose(1, 2);
    }

    private Tensor norm(Tensor x, String prefix) {
        long[] d = {spec.width()};
        if (spec.norm() == NormKind.LAYER_NORM) {
            return torch.layer_norm(x, d, new TensorOptional(nat(prefix + "weight")),
                    new TensorOptional(nat(prefix + "bias")), spec.normEps(), false);
        }
        return rms(x, prefix + "weight");
    }

    private Tensor rms(Tensor x, String weight) {
        return torch.rms_norm(x, new long[] {x.size(-1)}, new TensorOptional(nat(weight)),
                new org.bytedeco.pytorch.DoubleOptional(spec.normEps()));
    }

    /** The compute types the fused path takes. */
    static boolean supportsType(DType t) {
        return t == DType.FLOAT32 || t == DType.BFLOAT16 || t == DType.INT8;
    }
}
