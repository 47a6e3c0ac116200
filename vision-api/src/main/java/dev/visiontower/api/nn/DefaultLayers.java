package dev.visiontower.api.nn;

import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;

/** The reference layers, composed from {@link Ops}. */
final class DefaultLayers implements LayerFactory {

    @Override
    public PatchEmbedding patchEmbedding(int patchSize, Parameters p, Ops ops) {
        Tensor weight = p.get("weight");
        Tensor bias = p.optional("bias");
        return pixels -> ops.patchEmbed(pixels, weight, bias, patchSize);
    }

    @Override
    public TransformerBlock block(BlockSpec spec, Parameters p, Ops ops) {
        return new Block(spec, p, ops);
    }

    @Override
    public AttentionPool attentionPool(BlockSpec spec, Parameters p, Ops ops) {
        return new MapHead(spec, p, ops);
    }

    static Tensor norm(Ops ops, NormKind kind, Tensor x, Parameters p, double eps) {
        return kind == NormKind.LAYER_NORM
                ? ops.layerNorm(x, p.get("weight"), p.get("bias"), eps)
                : ops.rmsNorm(x, p.get("weight"), eps);
    }

    static Tensor linear(Ops ops, Tensor x, Parameters p) {
        return ops.linear(x, p.get("weight"), p.optional("bias"));
    }

    /** {@code [B, N, D] -> [B, H, N, D/H]}. */
    static Tensor splitHeads(Ops ops, Tensor x, int heads) {
        long n = x.dim(1);
        long d = x.dim(2);
        return ops.permute(ops.reshape(x, -1, n, heads, d / heads), 0, 2, 1, 3);
    }

    /** {@code [B, H, N, Dh] -> [B, N, H*Dh]}. */
    static Tensor mergeHeads(Ops ops, Tensor x) {
        long h = x.dim(1);
        long n = x.dim(2);
        long dh = x.dim(3);
        return ops.reshape(ops.permute(x, 0, 2, 1, 3), -1, n, h * dh);
    }

    static Tensor mlp(Ops ops, BlockSpec spec, Tensor h, Parameters p) {
        return linear(ops, ops.activation(linear(ops, h, p.view("fc1.")), spec.activation()), p.view("fc2."));
    }

    /** Pre-norm block: {@code x + ls1*attn(norm1(x))}, then {@code x + ls2*mlp(norm2(x))}. */
    private static final class Block implements TransformerBlock {
        private final BlockSpec spec;
        private final Parameters p;
        private final Ops ops;
        private final double scale;

        Block(BlockSpec spec, Parameters p, Ops ops) {
            this.spec = spec;
            this.p = p;
            this.ops = ops;
            this.scale = 1.0 / Math.sqrt(spec.headDim());
        }

        @Override
        public Tensor forward(Tensor x, Tensor mask) {
            try (TensorScope scope = x.backend().newScope()) {
                Tensor h = norm(ops, spec.norm(), x, p.view("norm1."), spec.normEps());
                Tensor q = linear(ops, h, p.view("attn.q."));
                Tensor k = linear(ops, h, p.view("attn.k."));
                Tensor v = linear(ops, h, p.view("attn.v."));
                if (spec.qkNorm()) {
                    q = ops.rmsNorm(q, p.get("attn.q_norm.weight"), spec.normEps());
                    k = ops.rmsNorm(k, p.get("attn.k_norm.weight"), spec.normEps());
                }
                Tensor a = ops.attention(splitHeads(ops, q, spec.heads()), splitHeads(ops, k, spec.heads()),
                        splitHeads(ops, v, spec.heads()), mask, spec.causal(), scale);
                Tensor o = linear(ops, mergeHeads(ops, a), p.view("attn.proj."));
                if (spec.layerScale()) {
                    o = ops.mul(o, p.get("ls1"));
                }
                Tensor y = ops.add(x, o);
                Tensor m = mlp(ops, spec, norm(ops, spec.norm(), y, p.view("norm2."), spec.normEps()), p.view("mlp."));
                if (spec.layerScale()) {
                    m = ops.mul(m, p.get("ls2"));
                }
                return scope.keep(ops.add(y, m));
            }
        }
    }

    /** Multihead attention pooling: one learned probe attends over the tokens, then {@code h + mlp(norm(h))}. */
    private static final class MapHead implements AttentionPool {
        private final BlockSpec spec;
        private final Parameters p;
        private final Ops ops;
        private final double scale;

        MapHead(BlockSpec spec, Parameters p, Ops ops) {
            this.spec = spec;
            this.p = p;
            this.ops = ops;
            this.scale = 1.0 / Math.sqrt(spec.headDim());
        }

        @Override
        public Tensor pool(Tensor x) {
            try (TensorScope scope = x.backend().newScope()) {
                long b = x.dim(0);
                long d = x.dim(2);
                Tensor probe = ops.expand(ops.reshape(p.get("probe"), 1, 1, d), b, 1, d);
                Tensor q = linear(ops, probe, p.view("attn.q."));
                Tensor k = linear(ops, x, p.view("attn.k."));
                Tensor v = linear(ops, x, p.view("attn.v."));
                Tensor a = ops.attention(splitHeads(ops, q, spec.heads()), splitHeads(ops, k, spec.heads()),
                        splitHeads(ops, v, spec.heads()), null, false, scale);
                Tensor h = linear(ops, mergeHeads(ops, a), p.view("attn.proj."));
                Tensor m = mlp(ops, spec, norm(ops, spec.norm(), h, p.view("norm."), spec.normEps()), p.view("mlp."));
                return scope.keep(ops.reshape(ops.add(h, m), -1, d));
            }
        }
    }
}
