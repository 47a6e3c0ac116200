package dev.visiontower.api.nn;

import dev.visiontower.api.Activation;
import dev.visiontower.api.InvalidInputException;

/**
 * Architecture of the shared {@link TextTransformer} (CLIP and SigLIP text towers).
 *
 * @param vocabSize      token embedding rows
 * @param contextLength  position embedding rows (longest input)
 * @param width          hidden width
 * @param depth          blocks
 * @param heads          attention heads
 * @param mlpWidth       MLP hidden width
 * @param activation     MLP activation
 * @param normEps        LayerNorm epsilon
 * @param causal         causal self-attention (CLIP) or not (SigLIP)
 * @param pooling        which position's final state is pooled
 * @param eosTokenId     the end-of-text id for {@link TextPooling#FIRST_EOS}
 * @param projectionDim  output projection width ({@code proj.weight [E, D]}), 0 for none
 * @param projectionBias whether the projection has a bias (SigLIP's {@code head})
 * @param paddingMask    whether an attention mask hides padding (CLIP); SigLIP's tower attends to its padding
 *                       by design, so a mask passed to it is not used
 */
public record TextConfig(int vocabSize, int contextLength, int width, int depth, int heads, int mlpWidth,
                         Activation activation, double normEps, boolean causal, TextPooling pooling, long eosTokenId,
                         int projectionDim, boolean projectionBias, boolean paddingMask) {

    /** Pooling rules of the text towers. */
    public enum TextPooling {
        /** The position of the largest id (OpenAI / open_clip, and HF CLIP when {@code eos_token_id == 2}). */
        ARGMAX_ID,
        /** The first position holding {@code eosTokenId} (HF CLIP otherwise). */
        FIRST_EOS,
        /** The last position (SigLIP). */
        LAST
    }

    public TextConfig {
        if (vocabSize <= 0 || contextLength <= 0 || width <= 0 || depth < 0 || heads <= 0 || mlpWidth <= 0) {
            throw new InvalidInputException("invalid text config: sizes must be positive");
        }
        if (vocabSize > 10_000_000 || contextLength > 1_000_000 || width > VitConfig.MAX_WIDTH
                || depth > VitConfig.MAX_DEPTH || heads > VitConfig.MAX_WIDTH || mlpWidth > 8L * VitConfig.MAX_WIDTH
                || projectionDim > VitConfig.MAX_WIDTH) {
            throw new InvalidInputException("invalid text config: a size is above the limits (vocabulary " + vocabSize
                    + " <= 10,000,000, context " + contextLength + " <= 1,000,000, width " + width + ", heads "
                    + heads + " and projection " + projectionDim + " <= " + VitConfig.MAX_WIDTH + ", depth " + depth
                    + " <= " + VitConfig.MAX_DEPTH + ")");
        }
        if (width % heads != 0) {
            throw new InvalidInputException("invalid text config: width " + width + " is not divisible by heads " + heads);
        }
        if (!(normEps > 0 && normEps < 1)) {
            throw new InvalidInputException("invalid text config: the norm epsilon (layer_norm_eps) must be in (0, 1), "
                    + "got " + normEps);
        }
        if (activation == null || pooling == null) {
            throw new InvalidInputException("invalid text config: activation and pooling are required");
        }
        if (projectionDim < 0 || (projectionBias && projectionDim == 0)) {
            throw new InvalidInputException("invalid text config: projection " + projectionDim + " / bias " + projectionBias);
        }
    }

    /** The same tower without its output projection (the part Hugging Face calls {@code text_model}). */
    public TextConfig withoutProjection() {
        return new TextConfig(vocabSize, contextLength, width, depth, heads, mlpWidth, activation, normEps, causal,
                pooling, eosTokenId, 0, false, paddingMask);
    }

    /** The block architecture. */
    public BlockSpec blockSpec() {
        return new BlockSpec(width, heads, mlpWidth, activation, NormKind.LAYER_NORM, normEps, false, false, true,
                causal);
    }
}
