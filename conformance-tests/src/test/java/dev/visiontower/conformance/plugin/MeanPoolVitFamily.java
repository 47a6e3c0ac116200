package dev.visiontower.conformance.plugin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.visiontower.api.Activation;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.image.ImageTransform;
import dev.visiontower.api.nn.FinalNorm;
import dev.visiontower.api.nn.Pooling;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.TextTransformer;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.spi.ModelDefinition;
import dev.visiontower.api.spi.ModelFamilyProvider;
import dev.visiontower.api.spi.ModelRecipe;

import java.util.Map;
import java.util.Optional;

/**
 * A third-party model plugin, as someone outside this repository would write it: its own checkpoint format
 * ({@code "model_type": "meanpool_vit"}, weights under its own names), a ViT without class token whose embedding is
 * the mean of its final tokens, configured on the shared container; optionally a text tower ({@code "text"} in the
 * config) with a word-level tokenizer and a contrastive head of its own ({@link MeanPoolHead}), which makes it a
 * dual encoder that {@code vision-api} trains ({@link MeanPoolRecipe} says how a new one is made). It only declares
 * what its checkpoints hold: no load or training code, no backend named, no operation code, so it runs and trains on
 * every backend as is. Registered through {@code META-INF/services} in the test resources.
 */
public final class MeanPoolVitFamily implements ModelFamilyProvider {

    @Override
    public String name() {
        return "meanpool-vit";
    }

    @Override
    public Optional<ModelDefinition> recognize(Checkpoint c) {
        JsonNode cfg = c.config();
        if (cfg == null || !cfg.path("model_type").asText().equals("meanpool_vit")) {
            return Optional.empty();
        }
        VitConfig vision = config(cfg);
        int s = vision.imageSize();
        ModelDefinition.Builder d = ModelDefinition.builder(name(), "example mean-pooling ViT")
                .vision(vision, prefixed("encoder.", VisionTransformer.parameterShapes(vision).keySet()))
                .preprocessor(() -> ImageTransform.exact(s, s, new float[] {0.5f, 0.5f, 0.5f},
                        new float[] {0.5f, 0.5f, 0.5f}));
        if (cfg.has("text")) {
            TextConfig text = textConfig(cfg.get("text"), vision.projectionDim());
            d.text(text, prefixed("text.", TextTransformer.parameterShapes(text).keySet()))
                    .tokenizer(() -> WordTokenizer.read(c.dir(), text.contextLength())).files(WordTokenizer.FILE);
            if (c.contains("logit_scale")) {
                d.head(Map.of("logit_scale", "logit_scale"), (b, p) -> new MeanPoolHead(b, p.get("logit_scale")));
            }
        }
        return Optional.of(d.build());
    }

    @Override
    public Optional<ModelRecipe> recipe() {
        return Optional.of(new MeanPoolRecipe());
    }

    public static VitConfig config(JsonNode cfg) {
        return VitConfig.builder().imageSize(cfg.path("image_size").asInt()).patchSize(cfg.path("patch_size").asInt())
                .width(cfg.path("width").asInt()).depth(cfg.path("depth").asInt()).heads(cfg.path("heads").asInt())
                .mlpWidth(cfg.path("mlp_width").asInt()).activation(Activation.GELU).normEps(1e-6).patchBias(true)
                .classToken(false).preNorm(false).finalNorm(FinalNorm.ALL_TOKENS).pooling(Pooling.MEAN)
                .projectionDim(cfg.path("projection_dim").asInt(0)).build();
    }

    /** A bidirectional text tower pooled at its last position (where the tokenizer puts end-of-text). */
    static TextConfig textConfig(JsonNode t, int projection) {
        return new TextConfig(t.path("vocab_size").asInt(), t.path("context_length").asInt(), t.path("width").asInt(),
                t.path("depth").asInt(), t.path("heads").asInt(), t.path("mlp_width").asInt(), Activation.GELU, 1e-6,
                false, TextConfig.TextPooling.LAST, WordTokenizer.EOS, projection, false, false);
    }

    /** Its weight names are the container's, prefixed. */
    static WeightMapping prefixed(String prefix, Iterable<String> names) {
        WeightMapping m = new WeightMapping();
        for (String name : names) {
            m.map(name, prefix + name);
        }
        return m;
    }
}
