package dev.visiontower.api.nn;

import dev.visiontower.api.Activation;

/**
 * Architecture of one pre-norm transformer block, shared by vision and text towers.
 *
 * <p>Canonical parameter names under the block prefix: {@code norm1.weight}/{@code .bias},
 * {@code attn.q.weight}/{@code .bias} (and {@code k}, {@code v}), {@code attn.q_norm.weight}, {@code attn.k_norm.weight}
 * (with qk-norm: an RMSNorm over the full width, before the head split, as InternViT-6B does), {@code attn.proj.weight}/{@code .bias}, {@code ls1}, {@code ls2}
 * (with layer scale), {@code norm2.*}, {@code mlp.fc1.weight}/{@code .bias}, {@code mlp.fc2.weight}/{@code .bias}.
 *
 * @param width      hidden width
 * @param heads      attention heads
 * @param mlpWidth   MLP hidden width
 * @param activation MLP activation
 * @param norm       norm type of norm1 and norm2
 * @param normEps    norm epsilon
 * @param layerScale learned per-channel branch scales
 * @param qkNorm     RMS-normalise q and k over the full width before splitting heads
 * @param qkvBias    biases on the q, k, v projections
 * @param causal     causal self-attention (text towers)
 */
public record BlockSpec(int width, int heads, int mlpWidth, Activation activation, NormKind norm, double normEps,
                        boolean layerScale, boolean qkNorm, boolean qkvBias, boolean causal) {

    public static BlockSpec of(VitConfig c) {
        return new BlockSpec(c.width(), c.heads(), c.mlpWidth(), c.activation(), c.norm(), c.normEps(),
                c.layerScale(), c.qkNorm(), c.qkvBias(), false);
    }

    public int headDim() {
        return width / heads;
    }

    /** Canonical parameter shapes of one block, names relative to the block prefix. */
    public void parameterShapes(String prefix, java.util.Map<String, long[]> out) {
        norm(prefix + "norm1.", out);
        for (String p : new String[] {"q", "k", "v"}) {
            out.put(prefix + "attn." + p + ".weight", new long[] {width, width});
            if (qkvBias) {
                out.put(prefix + "attn." + p + ".bias", new long[] {width});
            }
        }
        if (qkNorm) {
            out.put(prefix + "attn.q_norm.weight", new long[] {width});
            out.put(prefix + "attn.k_norm.weight", new long[] {width});
        }
        out.put(prefix + "attn.proj.weight", new long[] {width, width});
        out.put(prefix + "attn.proj.bias", new long[] {width});
        if (layerScale) {
            out.put(prefix + "ls1", new long[] {width});
            out.put(prefix + "ls2", new long[] {width});
        }
        norm(prefix + "norm2.", out);
        out.put(prefix + "mlp.fc1.weight", new long[] {mlpWidth, width});
        out.put(prefix + "mlp.fc1.bias", new long[] {mlpWidth});
        out.put(prefix + "mlp.fc2.weight", new long[] {width, mlpWidth});
        out.put(prefix + "mlp.fc2.bias", new long[] {width});
    }

    private void norm(String prefix, java.util.Map<String, long[]> out) {
        out.put(prefix + "weight", new long[] {width});
        if (norm == NormKind.LAYER_NORM) {
            out.put(prefix + "bias", new long[] {width});
        }
    }
}
