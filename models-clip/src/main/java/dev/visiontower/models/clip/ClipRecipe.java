package dev.visiontower.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.spi.ModelRecipe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * New Hugging Face {@code CLIPModel} checkpoints: a CLIPConfig ({@code vision_config}, {@code text_config},
 * {@code projection_dim}, optional {@code logit_scale_init_value}), a byte-level BPE vocabulary written from the
 * captions, CLIP's preprocessing, logit scale {@code ln(1/0.07)} unless configured.
 */
final class ClipRecipe implements ModelRecipe {
    static final String SHAPES = "shapes-clip";

    @Override
    public Map<String, String> presets() {
        return Map.of(SHAPES, "small CLIP for 64-pixel pictures and short captions (ViT width 96, 4 layers, patch 8; "
                + "text width 64, 2 layers)");
    }

    @Override
    public ObjectNode preset(String name, int contextLength) {
        if (!name.equals(SHAPES)) {
            throw new InvalidInputException("unknown clip preset '" + name + "', expected one of " + presets().keySet());
        }
        ObjectNode cfg = new ObjectMapper().createObjectNode();
        cfg.put("projection_dim", 64);
        cfg.put("logit_scale_init_value", Math.log(1 / 0.07));
        ObjectNode v = cfg.putObject("vision_config");
        v.put("hidden_size", 96).put("intermediate_size", 384).put("num_hidden_layers", 4)
                .put("num_attention_heads", 4).put("image_size", 64).put("patch_size", 8)
                .put("hidden_act", "quick_gelu").put("layer_norm_eps", 1e-5);
        ObjectNode t = cfg.putObject("text_config");
        t.put("hidden_size", 64).put("intermediate_size", 256).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("max_position_embeddings", contextLength)
                .put("hidden_act", "quick_gelu").put("layer_norm_eps", 1e-5).put("pad_token_id", 0);
        return cfg;
    }

    @Override
    public ObjectNode completeConfig(JsonNode modelConfig) {
        if (modelConfig == null || !modelConfig.path("vision_config").isObject()
                || !modelConfig.path("text_config").isObject()) {
            throw new InvalidInputException("a CLIP model config needs vision_config and text_config objects (a "
                    + "Hugging Face CLIPConfig)");
        }
        ObjectNode cfg = modelConfig.deepCopy();
        cfg.put("model_type", "clip");
        cfg.putArray("architectures").add("CLIPModel");
        return cfg;
    }

    @Override
    public Map<String, long[]> declaredTensors(ObjectNode config) {
        int projection = config.path("projection_dim").asInt(512);
        Map<String, long[]> out = new LinkedHashMap<>();
        out.put(ClipCheckpointFormat.HF_PREFIX + "embeddings.patch_embedding.weight", new long[] {1});
        out.put("text_model.embeddings.token_embedding.weight", new long[] {1});
        out.put("visual_projection.weight", new long[] {projection,
            config.path("vision_config").path("hidden_size").asInt(768)});
        out.put("text_projection.weight", new long[] {projection,
            config.path("text_config").path("hidden_size").asInt(512)});
        out.put("logit_scale", new long[0]);
        return out;
    }

    @Override
    public Map<String, Float> headInit(ObjectNode config) {
        return Map.of("logit_scale", (float) config.path("logit_scale_init_value").asDouble(Math.log(1 / 0.07)));
    }

    @Override
    public Map<String, Integer> writeCaptionTokenizer(Path dir, List<String> captions) {
        CaptionVocabulary vocab = new CaptionVocabulary(captions);
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve("vocab.json"), vocab.vocabJson());
            Files.write(dir.resolve("merges.txt"), vocab.mergesTxt());
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot write the tokenizer: " + e.getMessage(), e);
        }
        int eos = vocab.size() - 1;
        return Map.of("vocab_size", vocab.size(), "eos_token_id", eos, "bos_token_id", eos - 1);
    }

    /** CLIPImageProcessor: shortest edge to the size (bicubic), centre crop, CLIP's mean and std. */
    @Override
    public ObjectNode preprocessorConfig(int imageSize) {
        ObjectNode pre = new ObjectMapper().createObjectNode();
        pre.put("do_resize", true).put("resample", 3).put("do_rescale", true).put("rescale_factor", 1 / 255.0)
                .put("do_normalize", true).put("do_center_crop", true);
        pre.putObject("size").put("shortest_edge", imageSize);
        pre.putObject("crop_size").put("height", imageSize).put("width", imageSize);
        pre.putArray("image_mean").add(0.48145466).add(0.4578275).add(0.40821073);
        pre.putArray("image_std").add(0.26862954).add(0.26130258).add(0.27577711);
        return pre;
    }
}
