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
 * The shared text tower: token + position embeddings, pre-norm blocks (causal for CLIP), final LayerNorm, pooling of
 * one position and an optional projection.
 *
 * <p>Canonical names: {@code token_embed.weight [V, D]}, {@code pos_embed [C, D]}, {@code blocks.N.*} (see
 * {@link BlockSpec}), {@code norm.weight}/{@code norm.bias}, {@code proj.weight [E, D]}, {@code proj.bias}.
 */
public final class TextTransformer implements TextModel {
    private final TextConfig config;
    private final Backend backend;
    private final Ops ops;
    private final Parameters params;
    private final List<TransformerBlock> blocks;

    private TextTransformer(TextConfig config, Backend backend, Parameters params) {
        this.config = config;
        this.backend = backend;
        this.ops = backend.ops();
        this.params = params;
        List<TransformerBlock> list = new ArrayList<>();
        for (int i = 0; i < config.depth(); i++) {
            list.add(backend.layers().block(config.blockSpec(), params.view("blocks." + i + "."), ops));
        }
        this.blocks = List.copyOf(list);
    }

    /** Canonical parameter names and shapes. */
    public static Map<String, long[]> parameterShapes(TextConfig c) {
        Map<String, long[]> out = new LinkedHashMap<>();
        out.put("token_embed.weight", new long[] {c.vocabSize(), c.width()});
        out.put("pos_embed", new long[] {c.contextLength(), c.width()});
        for (int i = 0; i < c.depth(); i++) {
            c.blockSpec().parameterShapes("blocks." + i + ".", out);
        }
        out.put("norm.weight", new long[] {c.width()});
        out.put("norm.bias", new long[] {c.width()});
        if (c.projectionDim() > 0) {
            out.put("proj.weight", new long[] {c.projectionDim(), c.width()});
            if (c.projectionBias()) {
                out.put("proj.bias", new long[] {c.projectionDim()});
            }
        }
        return out;
    }

    public static long parameterCount(TextConfig c) {
        return Shapes.totalNumel(parameterShapes(c).values());
    }

    /** Builds the tower on {@code backend} from weights under canonical names. */
    public static TextTransformer load(TextConfig config, WeightSource weights, Backend backend) {
        return new TextTransformer(config, backend, Parameters.load(parameterShapes(config), weights, backend));
    }

    public TextConfig config() {
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
    public int contextLength() {
        return config.contextLength();
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public TextOutput forward(Tensor inputIds, Tensor attentionMask, boolean outputHiddenStates) {
        check(inputIds, attentionMask);
        try (TensorScope scope = backend.newScope()) {
            Tensor x = embed(inputIds);
            Tensor mask = attentionMask == null || !config.paddingMask() ? null : ops.paddingMask(attentionMask);
            List<Tensor> hidden = new ArrayList<>();
            if (outputHiddenStates) {
                hidden.add(x);
            }
            for (TransformerBlock b : blocks) {
                x = b.forward(x, mask);
                if (outputHiddenStates) {
                    hidden.add(x);
                }
            }
            Tensor[] h = head(x, inputIds);
            hidden.forEach(scope::keep);
            for (Tensor t : h) {
                if (t != null) {
                    scope.keep(t);
                }
            }
            return new TextOutput(h[0], h[1], h[2], hidden);
        }
    }

    /**
     * The tower as a chain of stages, for gradient checkpointing: the embedding (the stage's input is ignored: it
     * embeds {@code inputIds}), one stage per block, and the head (to {@link TextOutput#embedding()}). Applied in
     * order to {@code inputIds} they compute {@code forward(inputIds, attentionMask, false).embedding()}; results
     * (and the additive mask, made here) go to the caller's scope.
     */
    public List<java.util.function.UnaryOperator<Tensor>> stages(Tensor inputIds, Tensor attentionMask) {
        check(inputIds, attentionMask);
        Tensor mask = attentionMask == null || !config.paddingMask() ? null : ops.paddingMask(attentionMask);
        List<java.util.function.UnaryOperator<Tensor>> out = new ArrayList<>();
        out.add(ignored -> embed(inputIds));
        for (TransformerBlock b : blocks) {
            out.add(x -> b.forward(x, mask));
        }
        out.add(x -> {
            Tensor[] h = head(x, inputIds);
            return h[2] != null ? h[2] : h[1];
        });
        return out;
    }

    private void check(Tensor inputIds, Tensor attentionMask) {
        long[] s = inputIds.shape();
        if (s.length != 2 || s[0] < 1 || s[1] < 1 || inputIds.dtype().isFloatingPoint()) {
            throw new InvalidInputException("input_ids: expected int64 [B, N], got " + inputIds.dtype() + Shapes.format(s));
        }
        if (s[1] > config.contextLength()) {
            throw new InvalidInputException("input_ids " + Shapes.format(s) + ": " + s[1] + " tokens exceed the "
                    + "context length " + config.contextLength());
        }
        if (attentionMask != null && !java.util.Arrays.equals(attentionMask.shape(), s)) {
            throw new InvalidInputException("attention_mask " + Shapes.format(attentionMask.shape())
                    + " does not match input_ids " + Shapes.format(s));
        }
    }

    private Tensor embed(Tensor inputIds) {
        long n = inputIds.dim(1);
        long d = config.width();
        return ops.add(ops.embedding(params.get("token_embed.weight"), inputIds),
                ops.reshape(ops.narrow(params.get("pos_embed"), 0, 0, n), 1, n, d));
    }

    /** The last block's output to {final-normed states, pooled, projected embeddings or null}. */
    private Tensor[] head(Tensor x, Tensor inputIds) {
        long n = inputIds.dim(1);
        long d = config.width();
        Tensor last = ops.layerNorm(x, params.get("norm.weight"), params.get("norm.bias"), config.normEps());
        Tensor pooled;
        switch (config.pooling()) {
            case ARGMAX_ID:
                pooled = ops.gatherRows(last, ops.argmax(inputIds, -1));
                break;
            case FIRST_EOS:
                pooled = ops.gatherRows(last, ops.argmax(ops.equalTo(inputIds, config.eosTokenId()), -1));
                break;
            case LAST:
                pooled = ops.reshape(ops.narrow(last, 1, n - 1, 1), -1, d);
                break;
            default:
                throw new AssertionError(config.pooling());
        }
        Tensor embeds = config.projectionDim() > 0
                ? ops.linear(pooled, params.get("proj.weight"), params.optional("proj.bias")) : null;
        return new Tensor[] {last, pooled, embeds};
    }

    @Override
    public void close() {
        params.close();
    }
}
