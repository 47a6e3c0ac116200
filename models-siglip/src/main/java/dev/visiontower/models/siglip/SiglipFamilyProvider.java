package dev.visiontower.models.siglip;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.auto.service.AutoService;
import dev.visiontower.api.Activation;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.image.ImageTransform;
import dev.visiontower.api.nn.Pooling;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.nn.VitPresets;
import dev.visiontower.api.spi.ModelDefinition;
import dev.visiontower.api.spi.ModelFamilyProvider;
import dev.visiontower.api.spi.ModelRecipe;

import java.util.Map;
import java.util.Optional;

/**
 * SigLIP (Hugging Face naming: {@code vision_model.*}, or bare names as transformers 5 saves a
 * {@code SiglipVisionModel}): no class token, biased patch projection, tanh-GELU, post-norm on all tokens and the
 * MAP attention-pool head.
 */
@AutoService(ModelFamilyProvider.class)
public final class SiglipFamilyProvider implements ModelFamilyProvider {
    private static final String PREFIX = "vision_model.";
    private static final float[] HALF = {0.5f, 0.5f, 0.5f};

    @Override
    public String name() {
        return "siglip";
    }

    private static boolean isSiglipConfig(JsonNode cfg) {
        if (cfg == null) {
            return false;
        }
        String type = cfg.path("model_type").asText("");
        if (type.equals("siglip") || type.equals("siglip_vision_model")) {
            return true;
        }
        for (JsonNode a : cfg.path("architectures")) {
            if (a.asText().startsWith("Siglip")) {
                return true;
            }
        }
        return false;
    }

    private static String prefix(Checkpoint c) {
        if (c.contains(PREFIX + "embeddings.patch_embedding.weight")) {
            return PREFIX;
        }
        if (c.contains("embeddings.patch_embedding.weight")) {
            return "";
        }
        return null;
    }

    private static boolean recognized(Checkpoint c) {
        return isSiglipConfig(c.config()) && prefix(c) != null;
    }

    @Override
    public Optional<ModelDefinition> recognize(Checkpoint c) {
        if (!recognized(c)) {
            return Optional.empty();
        }
        JsonNode arch = c.config().path("architectures");
        VitConfig vision = visionConfig(c);
        ModelDefinition.Builder d = ModelDefinition.builder(name(),
                        "Hugging Face " + (arch.size() > 0 ? arch.get(0).asText() : "SigLIP"))
                .vision(vision, mapping(prefix(c), vision))
                .preprocessor(() -> preprocessor(c, vision));
        if (c.contains(TEXT + "embeddings.token_embedding.weight")) {
            TextConfig text = textConfig(c);
            d.text(text, textMapping(text)).tokenizer(() -> SiglipTokenizer.find(c.dir(), text.contextLength()));
            if (c.contains("logit_scale") && c.contains("logit_bias")) {
                d.head(Map.of("logit_scale", "logit_scale", "logit_bias", "logit_bias"),
                        (backend, p) -> new SiglipHead(backend, p.get("logit_scale"), p.get("logit_bias")));
            }
        }
        return Optional.of(d.build());
    }

    @Override
    public Optional<ModelRecipe> recipe() {
        return Optional.of(new SiglipRecipe());
    }

    /** The vision tower's architecture from {@code config.json}. */
    public static VitConfig visionConfig(Checkpoint c) {
        JsonNode root = c.config();
        if (!recognized(c)) {
            throw new CheckpointException(c.dir() + ": not a SigLIP checkpoint");
        }
        JsonNode v = root.has("vision_config") ? root.get("vision_config") : root;
        boolean head = v.path("vision_use_head").asBoolean(true);
        return VitPresets.siglip()
                .imageSize(v.path("image_size").asInt(224))
                .patchSize(v.path("patch_size").asInt(16))
                .channels(v.path("num_channels").asInt(3))
                .width(v.path("hidden_size").asInt(768))
                .depth(v.path("num_hidden_layers").asInt(12))
                .heads(v.path("num_attention_heads").asInt(12))
                .mlpWidth(v.path("intermediate_size").asInt(3072))
                .activation(Activation.fromHuggingFace(v.path("hidden_act").asText("gelu_pytorch_tanh")))
                .normEps(v.path("layer_norm_eps").asDouble(1e-6))
                .pooling(head ? Pooling.MAP : Pooling.NONE)
                .build();
    }

    static WeightMapping mapping(String p, VitConfig cfg) {
        WeightMapping m = new WeightMapping()
                .map("patch_embed.weight", p + "embeddings.patch_embedding.weight")
                .map("patch_embed.bias", p + "embeddings.patch_embedding.bias")
                .map("pos_embed", p + "embeddings.position_embedding.weight")
                .map("norm.weight", p + "post_layernorm.weight")
                .map("norm.bias", p + "post_layernorm.bias")
                .ignore("text_model\\..*").ignore("logit_scale").ignore("logit_bias").ignore(".*position_ids");
        for (int i = 0; i < cfg.depth(); i++) {
            m.huggingFaceEncoderLayer("blocks." + i + ".", p + "encoder.layers." + i + ".");
        }
        if (cfg.pooling() == Pooling.MAP) {
            String h = p + "head.";
            m.map("head.probe", h + "probe");
            String[] qkv = {"q", "k", "v"};
            for (int j = 0; j < 3; j++) {
                m.rowBlock("head.attn." + qkv[j] + ".weight", h + "attention.in_proj_weight", j, 3);
                m.rowBlock("head.attn." + qkv[j] + ".bias", h + "attention.in_proj_bias", j, 3);
            }
            for (String wb : new String[] {"weight", "bias"}) {
                m.map("head.attn.proj." + wb, h + "attention.out_proj." + wb)
                        .map("head.norm." + wb, h + "layernorm." + wb)
                        .map("head.mlp.fc1." + wb, h + "mlp.fc1." + wb)
                        .map("head.mlp.fc2." + wb, h + "mlp.fc2." + wb);
            }
        }
        return m;
    }

    private static final String TEXT = "text_model.";

    /** The text tower's architecture: no causal mask, last-position pooling, biased {@code head}. */
    public static TextConfig textConfig(Checkpoint c) {
        JsonNode t = c.config().path("text_config");
        int width = t.path("hidden_size").asInt(768);
        return new TextConfig(t.path("vocab_size").asInt(32000), t.path("max_position_embeddings").asInt(64), width,
                t.path("num_hidden_layers").asInt(12), t.path("num_attention_heads").asInt(12),
                t.path("intermediate_size").asInt(3072),
                Activation.fromHuggingFace(t.path("hidden_act").asText("gelu_pytorch_tanh")),
                t.path("layer_norm_eps").asDouble(1e-6), false, TextConfig.TextPooling.LAST, 1,
                t.path("projection_size").asInt(width), true, false);
    }

    static WeightMapping textMapping(TextConfig cfg) {
        WeightMapping m = new WeightMapping()
                .map("token_embed.weight", TEXT + "embeddings.token_embedding.weight")
                .map("pos_embed", TEXT + "embeddings.position_embedding.weight")
                .map("norm.weight", TEXT + "final_layer_norm.weight")
                .map("norm.bias", TEXT + "final_layer_norm.bias")
                .map("proj.weight", TEXT + "head.weight")
                .map("proj.bias", TEXT + "head.bias")
                .ignore("vision_model\\..*").ignore("logit_scale").ignore("logit_bias").ignore(".*position_ids");
        for (int i = 0; i < cfg.depth(); i++) {
            m.huggingFaceEncoderLayer("blocks." + i + ".", TEXT + "encoder.layers." + i + ".");
        }
        return m;
    }

    private static ImagePreprocessor preprocessor(Checkpoint c, VitConfig vision) {
        JsonNode pre = c.json("preprocessor_config.json");
        if (pre != null) {
            String where = c.dir().resolve("preprocessor_config.json").toString();
            return ImageTransform.fromHuggingFace(pre, where).requireOutputAtLeast(vision.patchSize(), where);
        }
        int size = vision.imageSize();
        return ImageTransform.exact(size, size, HALF, HALF);
    }
}
