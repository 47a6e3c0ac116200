package dev.visiontower.conformance.plugin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.spi.ModelRecipe;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** New models of the example family: one preset, a word vocabulary of the captions, logit scale {@code ln(1/0.07)}. */
final class MeanPoolRecipe implements ModelRecipe {
    static final String TINY = "meanpool-tiny";

    @Override
    public Map<String, String> presets() {
        return Map.of(TINY, "mean-pooling ViT for 32-pixel pictures (width 32, 2 layers) with a 1-layer text tower");
    }

    @Override
    public ObjectNode preset(String name, int contextLength) {
        if (!name.equals(TINY)) {
            throw new InvalidInputException("unknown meanpool-vit preset '" + name + "', expected " + TINY);
        }
        ObjectNode cfg = new ObjectMapper().createObjectNode();
        cfg.put("image_size", 32).put("patch_size", 8).put("width", 32).put("depth", 2).put("heads", 2)
                .put("mlp_width", 64).put("projection_dim", 16);
        cfg.putObject("text").put("context_length", contextLength).put("width", 32).put("depth", 1).put("heads", 2)
                .put("mlp_width", 64);
        return cfg;
    }

    @Override
    public ObjectNode completeConfig(JsonNode modelConfig) {
        if (modelConfig == null || !modelConfig.path("text").isObject()) {
            throw new InvalidInputException("a meanpool-vit model to train needs a \"text\" object");
        }
        ObjectNode cfg = modelConfig.deepCopy();
        cfg.put("model_type", "meanpool_vit");
        return cfg;
    }

    /** Its vocabulary size goes into {@code text}. */
    @Override
    public ObjectNode withTokenizerEntries(ObjectNode config, Map<String, Integer> entries) {
        ObjectNode out = config.deepCopy();
        entries.forEach(out.with("text")::put);
        return out;
    }

    @Override
    public Map<String, long[]> declaredTensors(ObjectNode config) {
        return Map.of("logit_scale", new long[0]);
    }

    @Override
    public Map<String, Float> headInit(ObjectNode config) {
        return Map.of("logit_scale", (float) Math.log(1 / 0.07));
    }

    @Override
    public Map<String, Integer> writeCaptionTokenizer(Path dir, List<String> captions) {
        return Map.of("vocab_size", WordTokenizer.write(dir, captions));
    }

    @Override
    public ObjectNode preprocessorConfig(int imageSize) {
        ObjectNode pre = new ObjectMapper().createObjectNode();
        pre.put("note", "meanpool-vit resizes to " + imageSize + " px, mean and std 0.5; nothing here is read");
        return pre;
    }
}
