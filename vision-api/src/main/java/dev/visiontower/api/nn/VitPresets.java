package dev.visiontower.api.nn;

import dev.visiontower.api.InvalidInputException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/** Named architectures of real checkpoints (vision towers with their projection). */
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

    private static final Map<String, Supplier<VitConfig>> BY_NAME = new LinkedHashMap<>();

    static {
        BY_NAME.put("clip-vit-b-32", VitPresets::clipVitB32);
        BY_NAME.put("clip-vit-b-16", VitPresets::clipVitB16);
        BY_NAME.put("clip-vit-l-14", VitPresets::clipVitL14);
        BY_NAME.put("clip-vit-l-14-336", VitPresets::clipVitL14_336);
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
