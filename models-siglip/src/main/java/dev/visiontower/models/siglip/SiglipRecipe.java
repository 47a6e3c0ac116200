package dev.visiontower.models.siglip;

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
 * New Hugging Face {@code SiglipModel} checkpoints: seeded random towers, a SentencePiece model written from the
 * captions, {@code logit_scale = ln 10} and {@code logit_bias = -10} as the SigLIP paper initialises them.
 */
final class SiglipRecipe implements ModelRecipe {
    static final String SHAPES = "shapes-siglip";
    static final double LOG_SCALE_INIT = Math.log(10);
    static final double BIAS_INIT = -10;

    @Override
    public Map<String, String> presets() {
        return Map.of(SHAPES, "small SigLIP for 64-pixel pictures and short captions (MAP-head ViT width 96, 4 "
                + "layers, patch 8; text width 64, 2 layers)");
    }

    @Override
    public ObjectNode preset(String name, int contextLength) {
        if (!name.equals(SHAPES)) {
            throw new InvalidInputException("unknown siglip preset '" + name + "', expected one of "
                    + presets().keySet());
        }
        ObjectNode cfg = new ObjectMapper().createObjectNode();
        ObjectNode v = cfg.putObject("vision_config");
        v.put("hidden_size", 96).put("intermediate_size", 384).put("num_hidden_layers", 4)
                .put("num_attention_heads", 4).put("image_size", 64).put("patch_size", 8)
                .put("hidden_act", "gelu_pytorch_tanh").put("layer_norm_eps", 1e-6).put("vision_use_head", true);
        ObjectNode t = cfg.putObject("text_config");
        t.put("hidden_size", 64).put("intermediate_size", 256).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("max_position_embeddings", contextLength)
                .put("hidden_act", "gelu_pytorch_tanh").put("layer_norm_eps", 1e-6).put("projection_size", 96);
        return cfg;
    }

    @Override
    public ObjectNode completeConfig(JsonNode modelConfig) {
        if (modelConfig == null || !modelConfig.path("vision_config").isObject()
                || !modelConfig.path("text_config").isObject()) {
            throw new InvalidInputException("a SigLIP model config needs vision_config and text_config objects (a "
                    + "Hugging Face SiglipConfig)");
        }
        ObjectNode cfg = modelConfig.deepCopy();
        cfg.put("model_type", "siglip");
        cfg.putArray("architectures").add("SiglipModel");
        int vision = cfg.path("vision_config").path("hidden_size").asInt(768);
        int projection = cfg.path("text_config").path("projection_size")
                .asInt(cfg.path("text_config").path("hidden_size").asInt(768));
        if (projection != vision) {
            throw new InvalidInputException("SigLIP compares the pooled image features (vision hidden_size " + vision
                    + ") with the text head's output: set text_config.projection_size to " + vision + " (it is "
                    + projection + ")");
        }
        return cfg;
    }

    @Override
    public Map<String, long[]> declaredTensors(ObjectNode config) {
        Map<String, long[]> out = new LinkedHashMap<>();
        out.put("vision_model.embeddings.patch_embedding.weight", new long[] {1});
        out.put("text_model.embeddings.token_embedding.weight", new long[] {1});
        out.put("logit_scale", new long[] {1});
        out.put("logit_bias", new long[] {1});
        JsonNode v = config.path("vision_config");
        if (v.path("vision_use_head").asBoolean(true)) {
            out.put("vision_model.head.probe", new long[] {1, 1, v.path("hidden_size").asInt(768)}); // Parameter [1, 1, D]
        }
        return out;
    }

    @Override
    public Map<String, Float> headInit(ObjectNode config) {
        return Map.of("logit_scale", (float) LOG_SCALE_INIT, "logit_bias", (float) BIAS_INIT);
    }

    /** Writes {@code spiece.model} for the captions (see {@link SentencePieceWriter}). */
    @Override
    public Map<String, Integer> writeCaptionTokenizer(Path dir, List<String> captions) {
        SentencePieceWriter w = new SentencePieceWriter(captions);
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve("spiece.model"), w.toBytes());
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot write spiece.model: " + e.getMessage(), e);
        }
        return Map.of("vocab_size", w.size(), "pad_token_id", 1, "eos_token_id", 1);
    }

    /** SiglipImageProcessor: a square resize (bicubic), no crop, mean and std 0.5. */
    @Override
    public ObjectNode preprocessorConfig(int imageSize) {
        ObjectNode pre = new ObjectMapper().createObjectNode();
        pre.put("image_processor_type", "SiglipImageProcessor");
        pre.put("do_resize", true).put("resample", 3).put("do_rescale", true).put("rescale_factor", 1 / 255.0)
                .put("do_normalize", true);
        pre.putObject("size").put("height", imageSize).put("width", imageSize);
        pre.putArray("image_mean").add(0.5).add(0.5).add(0.5);
        pre.putArray("image_std").add(0.5).add(0.5).add(0.5);
        return pre;
    }
}
