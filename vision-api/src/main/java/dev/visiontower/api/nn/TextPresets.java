package dev.visiontower.api.nn;

import dev.visiontower.api.Activation;

/** Text towers of real checkpoints (with their projection). */
public final class TextPresets {
    private TextPresets() {
    }

    /** OpenAI CLIP text tower: vocabulary 49408, context 77, causal, pooled at the end-of-text (largest id). */
    public static TextConfig clip(int width, int heads, int layers, int projection) {
        return new TextConfig(49408, 77, width, layers, heads, width * 4, Activation.QUICK_GELU, 1e-5, true,
                TextConfig.TextPooling.ARGMAX_ID, 49407, projection, false, true);
    }

    /** Text tower of CLIP ViT-B/32 and ViT-B/16 (width 512, 8 heads, 12 layers, projection 512). */
    public static TextConfig clipBase() {
        return clip(512, 8, 12, 512);
    }

    /** Text tower of CLIP ViT-L/14 and ViT-L/14-336 (width 768, 12 heads, 12 layers, projection 768). */
    public static TextConfig clipLarge() {
        return clip(768, 12, 12, 768);
    }

    /** SigLIP text tower: vocabulary 32000, context 64, not causal, last-position pooling, biased head. */
    public static TextConfig siglip(int width, int heads, int layers, int mlpWidth) {
        return new TextConfig(32000, 64, width, layers, heads, mlpWidth, Activation.GELU_TANH, 1e-6, false,
                TextConfig.TextPooling.LAST, 1, width, true, false);
    }

    /** google/siglip-base-patch16-224. */
    public static TextConfig siglipBase() {
        return siglip(768, 12, 12, 3072);
    }

    /** google/siglip-so400m-patch14-384. */
    public static TextConfig siglipSo400m() {
        return siglip(1152, 16, 27, 4304);
    }
}
