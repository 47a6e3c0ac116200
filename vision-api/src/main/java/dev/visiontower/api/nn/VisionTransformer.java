package dev.visiontower.api.nn;

import dev.visiontower.api.Backend;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.checkpoint.WeightSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one ViT container every family configures (CLIP, SigLIP, InternViT, third-party plugins): patch embedding,
 * optional class token, learned position embedding (resampled bicubically when asked or always), optional pre-norm,
 * pre-norm blocks, optional final norm, pooling (class token, MAP, mean) and optional projection.
 *
 * <p>Canonical parameter names: {@code patch_embed.weight [D,C,P,P]}, {@code patch_embed.bias},
 * {@code cls_token [D]}, {@code pos_embed [T,D]}, {@code norm_pre.*}, {@code blocks.N.*} (see {@link BlockSpec}),
 * {@code norm.*}, {@code head.*} (MAP: {@code probe [D]}, {@code attn.*}, {@code norm.*}, {@code mlp.*}),
 * {@code proj.weight [E,D]}, {@code proj.bias}. Checkpoint mappers translate each format to these names.
 */
public final class VisionTransformer implements VisionModel {
    private final VitConfig config;
    private final Backend backend;
    private final Ops ops;
    private final Parameters params;
    private final PatchEmbedding patchEmbed;
    private final List<TransformerBlock> blocks;
    private final AttentionPool pool;

    private VisionTransformer(VitConfig config, Backend backend, Parameters params) {
        this.config = config;
        this.backend = backend;
        this.ops = backend.ops();
        this.params = params;
        LayerFactory layers = backend.layers();
        this.patchEmbed = layers.patchEmbedding(config.patchSize(), params.view("patch_embed."), ops);
        BlockSpec spec = BlockSpec.of(config);
        List<TransformerBlock> list = new ArrayList<>();
        for (int i = 0; i < config.depth(); i++) {
            list.add(layers.block(spec, params.view("blocks." + i + "."), ops));
        }
        this.blocks = List.copyOf(list);
        this.pool = config.pooling() == Pooling.MAP ? layers.attentionPool(spec, params.view("head."), ops) : null;
    }

    /** Canonical parameter names and shapes of a configuration, in a stable order. */
    public static Map<String, long[]> parameterShapes(VitConfig c) {
        Map<String, long[]> out = new LinkedHashMap<>();
        long d = c.width();
        out.put("patch_embed.weight", new long[] {d, c.channels(), c.patchSize(), c.patchSize()});
        if (c.patchBias()) {
            out.put("patch_embed.bias", new long[] {d});
        }
        if (c.classToken()) {
            out.put("cls_token", new long[] {d});
        }
        out.put("pos_embed", new long[] {c.tokens(), d});
        if (c.preNorm()) {
            norm(out, "norm_pre.", c);
        }
        BlockSpec spec = BlockSpec.of(c);
        for (int i = 0; i < c.depth(); i++) {
            spec.parameterShapes("blocks." + i + ".", out);
        }
        if (c.finalNorm() != FinalNorm.NONE) {
            norm(out, "norm.", c);
        }
        if (c.pooling() == Pooling.MAP) {
            out.put("head.probe", new long[] {d});
            for (String p : new String[] {"q", "k", "v", "proj"}) {
                out.put("head.attn." + p + ".weight", new long[] {d, d});
                out.put("head.attn." + p + ".bias", new long[] {d});
            }
            norm(out, "head.norm.", c);
            out.put("head.mlp.fc1.weight", new long[] {c.mlpWidth(), d});
            out.put("head.mlp.fc1.bias", new long[] {c.mlpWidth()});
            out.put("head.mlp.fc2.weight", new long[] {d, c.mlpWidth()});
            out.put("head.mlp.fc2.bias", new long[] {d});
        }
        if (c.projectionDim() > 0) {
            out.put("proj.weight", new long[] {c.projectionDim(), d});
            if (c.projectionBias()) {
                out.put("proj.bias", new long[] {c.projectionDim()});
            }
        }
        return out;
    }

    private static void norm(Map<String, long[]> out, String prefix, VitConfig c) {
        out.put(prefix + "weight", new long[] {c.width()});
        if (c.norm() == NormKind.LAYER_NORM) {
            out.put(prefix + "bias", new long[] {c.width()});
        }
    }

    /** Exact number of parameters of a configuration. */
    public static long parameterCount(VitConfig c) {
        return Shapes.totalNumel(parameterShapes(c).values());
    }

    /**
     * Builds the model on {@code backend} from weights under canonical names; each tensor is uploaded and released
     * from the heap one at a time. The weight source must have been validated against {@link #parameterShapes}.
     */
    public static VisionTransformer load(VitConfig config, WeightSource weights, Backend backend) {
        return new VisionTransformer(config, backend, Parameters.load(parameterShapes(config), weights, backend));
    }

    public VitConfig config() {
        return config;
    }

    public Parameters parameters() {
        return params;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public int imageSize() {
        return config.imageSize();
    }

    @Override
    public VisionOutput forward(Tensor pixels, ForwardOptions options) {
        try (TensorScope scope = backend.newScope()) {
            Tensor x = embed(pixels, options);
            List<Tensor> hidden = new ArrayList<>();
            if (options.outputHiddenStates()) {
                hidden.add(x);
            }
            for (TransformerBlock block : blocks) {
                x = block.forward(x, null);
                if (options.outputHiddenStates()) {
                    hidden.add(x);
                }
            }
            Tensor[] h = head(x);
            for (Tensor t : hidden) {
                scope.keep(t);
            }
            for (Tensor t : h) {
                if (t != null) {
                    scope.keep(t);
                }
            }
            return new VisionOutput(h[0], h[1], h[2], hidden);
        }
    }

    /**
     * The tower as a chain of stages, for gradient checkpointing: the embedding (pixels to tokens), one stage per
     * block, and the head (tokens to {@link VisionOutput#embedding()}). Applied in order they compute
     * {@code forward(pixels, options).embedding()}; results go to the caller's scope.
     */
    public List<java.util.function.UnaryOperator<Tensor>> stages(ForwardOptions options) {
        List<java.util.function.UnaryOperator<Tensor>> out = new ArrayList<>();
        out.add(px -> embed(px, options));
        for (TransformerBlock block : blocks) {
            out.add(x -> block.forward(x, null));
        }
        out.add(x -> {
            Tensor[] h = head(x);
            return h[2] != null ? h[2] : h[1];
        });
        return out;
    }

    /** Pixels to the token sequence entering the first block (checked, embedded, positions added, pre-norm). */
    private Tensor embed(Tensor pixels, ForwardOptions options) {
        long[] s = pixels.shape();
        int p = config.patchSize();
        if (s.length != 4 || s[1] != config.channels()) {
            throw new InvalidInputException("pixel_values: expected shape [B, " + config.channels() + ", H, W], got "
                    + Shapes.format(s));
        }
        if (s[0] < 1 || s[2] < p || s[3] < p) {
            throw new InvalidInputException("pixel_values " + Shapes.format(s) + ": height and width must be at least "
                    + "the patch size " + p);
        }
        int gh = (int) (s[2] / p);
        int gw = (int) (s[3] / p);
        boolean nativeGrid = gh == config.gridSize() && gw == config.gridSize();
        boolean resample = !nativeGrid;
        if (resample && config.posEmbedResample() == PosEmbedResample.ON_REQUEST && !options.interpolatePosEncoding()) {
            throw new InvalidInputException("pixel_values " + Shapes.format(s) + ": the model expects "
                    + config.imageSize() + "x" + config.imageSize() + " images; pass interpolatePosEncoding "
                    + "(--interpolate-pos-encoding) to run at " + s[2] + "x" + s[3]);
        }
        long d = config.width();
        Tensor x = patchEmbed.embed(pixels);
        long b = x.dim(0);
        if (config.classToken()) {
            Tensor cls = ops.expand(ops.reshape(params.get("cls_token"), 1, 1, d), b, 1, d);
            x = ops.concat(List.of(cls, x), 1);
        }
        x = ops.add(x, positionEmbedding(gh, gw, resample));
        if (config.preNorm()) {
            x = DefaultLayers.norm(ops, config.norm(), x, params.view("norm_pre."), config.normEps());
        }
        return x;
    }

    /** The last block's output to {last hidden state, pooled output or null, projected embeddings or null}. */
    private Tensor[] head(Tensor x) {
        if (config.finalNorm() == FinalNorm.ALL_TOKENS) {
            x = DefaultLayers.norm(ops, config.norm(), x, params.view("norm."), config.normEps());
        }
        Tensor pooled = pool(x);
        if (pooled != null && config.finalNorm() == FinalNorm.POOLED) {
            pooled = DefaultLayers.norm(ops, config.norm(), pooled, params.view("norm."), config.normEps());
        }
        Tensor embeds = null;
        if (config.projectionDim() > 0) {
            embeds = ops.linear(pooled, params.get("proj.weight"), params.optional("proj.bias"));
        }
        return new Tensor[] {x, pooled, embeds};
    }

    private Tensor pool(Tensor x) {
        long d = config.width();
        switch (config.pooling()) {
            case CLASS_TOKEN:
                return ops.reshape(ops.narrow(x, 1, 0, 1), -1, d);
            case MAP:
                return pool.pool(x);
            case MEAN: {
                int prefix = config.prefixTokens();
                return ops.mean(ops.narrow(x, 1, prefix, x.dim(1) - prefix), 1);
            }
            case NONE:
                return null;
            default:
                throw new AssertionError(config.pooling());
        }
    }

    /** {@code [1, T, D]}: the learned table, its patch part resampled to {@code gh x gw} when needed. */
    private Tensor positionEmbedding(int gh, int gw, boolean resample) {
        Tensor table = params.get("pos_embed");
        long d = config.width();
        if (!resample) {
            return ops.reshape(table, 1, -1, d);
        }
        int g = config.gridSize();
        int prefix = config.prefixTokens();
        Tensor grid = ops.permute(ops.reshape(ops.narrow(table, 0, prefix, (long) g * g), 1, g, g, d), 0, 3, 1, 2);
        Tensor resized = ops.resizeBicubic(grid, gh, gw);
        Tensor patches = ops.reshape(ops.permute(resized, 0, 2, 3, 1), 1, (long) gh * gw, d);
        if (prefix == 0) {
            return patches;
        }
        Tensor cls = ops.reshape(ops.narrow(table, 0, 0, prefix), 1, prefix, d);
        return ops.concat(List.of(cls, patches), 1);
    }

    @Override
    public void close() {
        params.close();
    }
}
