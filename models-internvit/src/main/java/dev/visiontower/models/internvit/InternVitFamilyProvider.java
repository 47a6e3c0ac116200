package dev.visiontower.models.internvit;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.auto.service.AutoService;
import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.image.ImageTransform;
import dev.visiontower.api.nn.NormKind;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.nn.VitPresets;
import dev.visiontower.api.spi.ModelDefinition;
import dev.visiontower.api.nn.Parameters;
import java.util.LinkedHashMap;
import java.util.Map;
import dev.visiontower.api.spi.ModelFamilyProvider;

import java.util.Optional;

/**
 * InternViT (OpenGVLab naming: {@code embeddings.*}, {@code encoder.layers.N.*}; inside InternVL chat checkpoints
 * prefixed {@code vision_model.}). Both flavours: 300M (LayerNorm, qkv bias) and 6B (RMSNorm, q/k RMSNorm, no qkv
 * bias). Layer scale, no pre- or final norm, class-token pooler without norm, position embedding resampled to the
 * input grid on every pass.
 */
@AutoService(ModelFamilyProvider.class)
public final class InternVitFamilyProvider implements ModelFamilyProvider {
    private static final String CHAT_PREFIX = "vision_model.";

    @Override
    public String name() {
        return "internvit";
    }

    private static String prefix(Checkpoint c) {
        if (c.contains("embeddings.class_embedding") && c.contains("embeddings.position_embedding")) {
            return "";
        }
        if (c.contains(CHAT_PREFIX + "embeddings.class_embedding")
                && c.contains(CHAT_PREFIX + "embeddings.position_embedding")) {
            return CHAT_PREFIX;
        }
        return null;
    }

    /** The vision config: {@code config.json} itself, or its {@code vision_config} in InternVL chat checkpoints. */
    private static JsonNode visionJson(Checkpoint c) {
        JsonNode cfg = c.config();
        if (cfg == null) {
            return null;
        }
        if (cfg.has("vision_config")) {
            return cfg.get("vision_config");
        }
        return cfg;
    }

    private static boolean isInternVit(Checkpoint c) {
        JsonNode v = visionJson(c);
        if (v == null || prefix(c) == null) {
            return false;
        }
        String type = v.path("model_type").asText("");
        boolean arch = false;
        for (JsonNode a : v.path("architectures")) {
            arch |= a.asText().startsWith("InternVision");
        }
        return type.startsWith("intern_vit") || arch;
    }

    @Override
    public Optional<ModelDefinition> recognize(Checkpoint c) {
        if (!isInternVit(c)) {
            return Optional.empty();
        }
        VitConfig cfg = visionConfig(c);
        WeightMapping m = mapping(prefix(c), cfg);
        ModelDefinition.Builder d = ModelDefinition.builder(name(),
                        prefix(c).isEmpty() ? "OpenGVLab InternVisionModel" : "OpenGVLab InternVL chat (vision_model)")
                .vision(cfg, m)
                // InternVL's eval transform (exact bicubic resize, ImageNet mean and std), or its dynamic tiling
                .preprocessing(o -> o.tiles() <= 1
                        ? ImageTransform.exact(cfg.imageSize(), cfg.imageSize(), ImageTransform.IMAGENET_MEAN,
                                ImageTransform.IMAGENET_STD)
                        : new InternVlTiling(cfg.imageSize(), 1, o.tiles(), true));
        if (hasProjector(c)) {
            m.ignore("mlp1\\..*");
            d.visionAssembler((vit, ck, backend, options) -> withProjector(vit, ck, backend, cfg));
        }
        return Optional.of(d.build());
    }

    /** The architecture from the config; {@code norm_type} absent means RMSNorm, as in the reference code. */
    public static VitConfig visionConfig(Checkpoint c) {
        if (!isInternVit(c)) {
            throw new CheckpointException(c.dir() + ": not an InternViT checkpoint");
        }
        JsonNode v = visionJson(c);
        String norm = v.path("norm_type").asText("rms_norm");
        NormKind kind;
        switch (norm) {
            case "rms_norm": kind = NormKind.RMS_NORM; break;
            case "layer_norm": kind = NormKind.LAYER_NORM; break;
            default:
                throw new CheckpointException(c.dir() + ": unknown norm_type '" + norm
                        + "', expected rms_norm or layer_norm");
        }
        return VitPresets.internVit()
                .imageSize(v.path("image_size").asInt(224))
                .patchSize(v.path("patch_size").asInt(14))
                .channels(v.path("num_channels").asInt(3))
                .width(v.path("hidden_size").asInt(3200))
                .depth(v.path("num_hidden_layers").asInt(48))
                .heads(v.path("num_attention_heads").asInt(25))
                .mlpWidth(v.path("intermediate_size").asInt(12800))
                .activation(Activation.fromHuggingFace(v.path("hidden_act").asText("gelu")))
                .normEps(v.path("layer_norm_eps").asDouble(1e-6))
                .norm(kind)
                .qkvBias(v.path("qkv_bias").asBoolean(false))
                .qkNorm(v.path("qk_normalization").asBoolean(true))
                .build();
    }

    static WeightMapping mapping(String p, VitConfig cfg) {
        WeightMapping m = new WeightMapping()
                .map("patch_embed.weight", p + "embeddings.patch_embedding.weight")
                .map("patch_embed.bias", p + "embeddings.patch_embedding.bias")
                .map("cls_token", p + "embeddings.class_embedding")
                .map("pos_embed", p + "embeddings.position_embedding");
        if (!p.isEmpty()) {
            // the rest of an InternVL chat checkpoint (projector, language model) is not the vision tower
            m.ignore("(?!" + java.util.regex.Pattern.quote(p) + ").*");
        }
        String[] qkv = {"q", "k", "v"};
        for (int i = 0; i < cfg.depth(); i++) {
            String s = p + "encoder.layers." + i + ".";
            String d = "blocks." + i + ".";
            for (int j = 0; j < 3; j++) {
                m.rowBlock(d + "attn." + qkv[j] + ".weight", s + "attn.qkv.weight", j, 3);
                if (cfg.qkvBias()) {
                    m.rowBlock(d + "attn." + qkv[j] + ".bias", s + "attn.qkv.bias", j, 3);
                }
            }
            if (cfg.qkNorm()) {
                m.map(d + "attn.q_norm.weight", s + "attn.q_norm.weight");
                m.map(d + "attn.k_norm.weight", s + "attn.k_norm.weight");
            }
            m.map(d + "ls1", s + "ls1").map(d + "ls2", s + "ls2");
            for (String wb : new String[] {"weight", "bias"}) {
                if (wb.equals("weight") || cfg.norm() == NormKind.LAYER_NORM) {
                    m.map(d + "norm1." + wb, s + "norm1." + wb).map(d + "norm2." + wb, s + "norm2." + wb);
                }
                m.map(d + "attn.proj." + wb, s + "attn.proj." + wb)
                        .map(d + "mlp.fc1." + wb, s + "mlp.fc1." + wb)
                        .map(d + "mlp.fc2." + wb, s + "mlp.fc2." + wb);
            }
        }
        return m;
    }

    /** Whether the checkpoint carries InternVL's projector ({@code mlp1.*}). */
    static boolean hasProjector(Checkpoint c) {
        return c.contains("mlp1.0.weight") && c.contains("mlp1.1.weight") && c.contains("mlp1.3.weight");
    }

    /** InternVL's projector ({@code mlp1.*}) on the tower, fed from the configured layer. */
    private static VisionModel withProjector(VisionTransformer vit, Checkpoint c, Backend backend, VitConfig cfg) {
        try {
            long[] fc1 = c.info("mlp1.1.weight").shape();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            shapes.put("norm.weight", new long[] {fc1[1]});
            shapes.put("norm.bias", new long[] {fc1[1]});
            shapes.put("fc1.weight", fc1);
            shapes.put("fc1.bias", new long[] {fc1[0]});
            shapes.put("fc2.weight", new long[] {fc1[0], fc1[0]});
            shapes.put("fc2.bias", new long[] {fc1[0]});
            if (fc1[1] != 4L * cfg.width()) {
                throw new CheckpointException(c.dir() + ": mlp1.1.weight " + java.util.Arrays.toString(fc1)
                        + " does not take the pixel-shuffled width 4 x " + cfg.width());
            }
            WeightMapping pm = new WeightMapping().map("norm.weight", "mlp1.0.weight").map("norm.bias", "mlp1.0.bias")
                    .map("fc1.weight", "mlp1.1.weight").map("fc1.bias", "mlp1.1.bias")
                    .map("fc2.weight", "mlp1.3.weight").map("fc2.bias", "mlp1.3.bias");
            var pw = pm.bind(c, shapes, false, c.dir().toString());
            int select = c.config().path("select_layer").asInt(-1);
            if (select < -(cfg.depth() + 1) || select > cfg.depth()) {
                throw new CheckpointException(c.dir() + ": select_layer " + select + " is outside the "
                        + (cfg.depth() + 1) + " hidden states");
            }
            return new InternVlVisionModel(vit, new InternVlProjector(Parameters.load(shapes, pw, backend)), select);
        } catch (RuntimeException e) {
            vit.close();
            throw e;
        }
    }
}
