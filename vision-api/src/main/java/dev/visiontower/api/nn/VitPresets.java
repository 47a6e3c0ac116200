package dev.visiontower.api.nn;

import dev.visiontower.api.InvalidInputException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/** Named architectures of real checkpoints (vision towers; CLIP's with their projection). */
public final class VitPresets {
    private VitPresets() {
    }

    private static VitConfig.Builder clip() {
        return VitConfig.builder(); // builder defaults are OpenAI CLIP's
    }

    /** OpenAI CLIP ViT-B/32 (224 px, projection 512). */
    public static VitConfig clipVitB32() {
        return clip().patchSize(32).projectionDim(512).build();
    }

    /** OpenAI CLIP ViT-B/16 (224 px, projection 512). */
    public static VitConfig clipVitB16() {
        return clip().patchSize(16).projectionDim(512).build();
    }

    /** OpenAI CLIP ViT-L/14 (224 px, projection 768). */
    public static VitConfig clipVitL14() {
        return clip().patchSize(14).width(1024).depth(24).heads(16).mlpWidth(4096).projectionDim(768).build();
    }

    /** OpenAI CLIP ViT-L/14 at 336 px (projection 768). */
    public static VitConfig clipVitL14_336() {
        return clipVitL14().toBuilder().imageSize(336).build();
    }

    /** SigLIP vision tower defaults (Hugging Face SiglipVisionConfig): no class token, MAP head, post-norm. */
    public static VitConfig.Builder siglip() {
        return VitConfig.builder().patchBias(true).classToken(false).preNorm(false).finalNorm(FinalNorm.ALL_TOKENS)
                .pooling(Pooling.MAP).activation(dev.visiontower.api.Activation.GELU_TANH).normEps(1e-6);
    }

    /** google/siglip-base-patch16-224. */
    public static VitConfig siglipBase16_224() {
        return siglip().build();
    }

    /** google/siglip-so400m-patch14-384. */
    public static VitConfig siglipSo400m14_384() {
        return siglip().imageSize(384).patchSize(14).width(1152).depth(27).heads(16).mlpWidth(4304).build();
    }

    /** InternViT defaults: layer scale, no pre- or final norm, raw class-token pooler, position embedding always resampled. */
    public static VitConfig.Builder internVit() {
        return VitConfig.builder().patchBias(true).preNorm(false).finalNorm(FinalNorm.NONE).layerScale(true)
                .activation(dev.visiontower.api.Activation.GELU).normEps(1e-6).imageSize(448).patchSize(14)
                .posEmbedResample(PosEmbedResample.ALWAYS);
    }

    /** OpenGVLab/InternViT-300M-448px (LayerNorm, qkv bias). */
    public static VitConfig internVit300m448() {
        return internVit().width(1024).depth(24).heads(16).mlpWidth(4096).build();
    }

    /** OpenGVLab/InternViT-6B-448px-V1-5 and V2_5 (RMSNorm, q/k RMSNorm, no qkv bias). */
    public static VitConfig internVit6b448() {
        return internVit().width(3200).depth(45).heads(25).mlpWidth(12800).norm(NormKind.RMS_NORM).qkNorm(true)
                .qkvBias(false).build();
    }

    private static final Map<String, Supplier<VitConfig>> BY_NAME = new LinkedHashMap<>();

    static {
        BY_NAME.put("clip-vit-b-32", VitPresets::clipVitB32);
        BY_NAME.put("clip-vit-b-16", VitPresets::clipVitB16);
        BY_NAME.put("clip-vit-l-14", VitPresets::clipVitL14);
        BY_NAME.put("clip-vit-l-14-336", VitPresets::clipVitL14_336);
        BY_NAME.put("siglip-base-16-224", VitPresets::siglipBase16_224);
        BY_NAME.put("siglip-so400m-14-384", VitPresets::siglipSo400m14_384);
        BY_NAME.put("internvit-300m-448", VitPresets::internVit300m448);
        BY_NAME.put("internvit-6b-448", VitPresets::internVit6b448);
    }

    public static Set<String> names() {
        return BY_NAME.keySet();
    }

    public static VitConfig byName(String name) {
        Supplier<VitConfig> s = BY_NAME.get(name);
        if (s == null) {
            throw new InvalidInputException("unknown preset '" + name + "', expected one of " + BY_NAME.keySet());
        }
        return s.get();
    }
}
