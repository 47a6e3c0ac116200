package dev.visiontower.conformance.plugin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.image.ImageTransform;
import dev.visiontower.api.nn.FinalNorm;
import dev.visiontower.api.nn.Pooling;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.spi.ModelFamilyProvider;

import java.util.Map;
import java.util.Optional;

/**
 * A third-party model plugin, as someone outside this repository would write it: its own checkpoint format
 * ({@code "model_type": "meanpool_vit"}, weights under its own names), a ViT without class token whose embedding is
 * the mean of its final tokens, configured on the shared container. It names no backend and contains no operation
 * code, so it runs on every backend as is. Registered through {@code META-INF/services} in the test resources.
 */
public final class MeanPoolVitFamily implements ModelFamilyProvider {

    @Override
    public String name() {
        return "meanpool-vit";
    }

    @Override
    public Optional<String> recognize(Checkpoint c) {
        JsonNode cfg = c.config();
        return cfg != null && cfg.path("model_type").asText().equals("meanpool_vit")
                ? Optional.of("example mean-pooling ViT") : Optional.empty();
    }

    public static VitConfig config(JsonNode cfg) {
        return VitConfig.builder().imageSize(cfg.path("image_size").asInt()).patchSize(cfg.path("patch_size").asInt())
                .width(cfg.path("width").asInt()).depth(cfg.path("depth").asInt()).heads(cfg.path("heads").asInt())
                .mlpWidth(cfg.path("mlp_width").asInt()).activation(Activation.GELU).normEps(1e-6).patchBias(true)
                .classToken(false).preNorm(false).finalNorm(FinalNorm.ALL_TOKENS).pooling(Pooling.MEAN).build();
    }

    /** Its weight names are the container's, prefixed with {@code encoder.}. */
    static WeightMapping mapping(VitConfig cfg) {
        WeightMapping m = new WeightMapping();
        for (String name : VisionTransformer.parameterShapes(cfg).keySet()) {
            m.map(name, "encoder." + name);
        }
        return m;
    }

    @Override
    public VisionModel loadVision(Checkpoint c, Backend backend, LoadOptions options) {
        VitConfig cfg = config(c.config());
        Map<String, long[]> shapes = VisionTransformer.parameterShapes(cfg);
        return VisionTransformer.load(cfg, mapping(cfg).bind(c, shapes, options.strict(), c.dir().toString()), backend);
    }

    @Override
    public ImagePreprocessor imagePreprocessor(Checkpoint c) {
        int s = config(c.config()).imageSize();
        return ImageTransform.exact(s, s, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
    }
}
