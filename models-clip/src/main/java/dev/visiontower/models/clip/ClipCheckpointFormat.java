package dev.visiontower.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import dev.visiontower.api.Activation;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.image.ImageTransform;
import dev.visiontower.api.image.ResampleFilter;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.VitConfig;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The two CLIP checkpoint layouts: how to read the architecture, the weights and the preprocessing of each. */
public enum ClipCheckpointFormat {

    /** Hugging Face {@code CLIPModel} / {@code CLIPVisionModel(WithProjection)} ({@code vision_model.*}). */
    HUGGING_FACE {
        @Override
        boolean matches(Checkpoint c) {
            JsonNode cfg = c.config();
            if (cfg == null) {
                return false;
            }
            String type = cfg.path("model_type").asText("");
            boolean clipType = type.equals("clip") || type.equals("clip_vision_model");
            if (!clipType) {
                for (JsonNode a : cfg.path("architectures")) {
                    clipType |= a.asText().startsWith("CLIP");
                }
            }
            return clipType && (c.contains(HF_PREFIX + "embeddings.patch_embedding.weight")
                    || c.contains("embeddings.patch_embedding.weight"));
        }

        @Override
        String describe(Checkpoint c) {
            JsonNode arch = c.config().path("architectures");
            String name = arch.isArray() && arch.size() > 0 ? arch.get(0).asText() : c.config().path("model_type").asText();
            return "Hugging Face " + name;
        }

        @Override
        VitConfig config(Checkpoint c) {
            JsonNode root = c.config();
            JsonNode v = root.has("vision_config") ? root.get("vision_config") : root;
            String p = prefix(c);
            int width = v.path("hidden_size").asInt(768);
            int projection = 0;
            if (c.contains("visual_projection.weight")) {
                projection = (int) c.info("visual_projection.weight").shape()[0];
            }
            return VitConfig.builder()
                    .imageSize(v.path("image_size").asInt(224))
                    .patchSize(v.path("patch_size").asInt(32))
                    .channels(v.path("num_channels").asInt(3))
                    .width(width)
                    .depth(v.path("num_hidden_layers").asInt(12))
                    .heads(v.path("num_attention_heads").asInt(12))
                    .mlpWidth(v.path("intermediate_size").asInt(3072))
                    .activation(Activation.fromHuggingFace(v.path("hidden_act").asText("quick_gelu")))
                    .normEps(v.path("layer_norm_eps").asDouble(1e-5))
                    .projectionDim(projection)
                    .build();
        }

        private String prefix(Checkpoint c) {
            return c.contains(HF_PREFIX + "embeddings.patch_embedding.weight") ? HF_PREFIX : "";
        }

        @Override
        WeightMapping mapping(Checkpoint c, VitConfig cfg) {
            return huggingFaceVisionMapping(prefix(c), cfg);
        }

        @Override
        boolean hasText(Checkpoint c) {
            return c.contains("text_model.embeddings.token_embedding.weight");
        }

        @Override
        TextConfig textConfig(Checkpoint c) {
            JsonNode t = c.config().path("text_config");
            long eos = t.path("eos_token_id").asLong(2);
            int projection = c.contains("text_projection.weight") ? (int) c.info("text_projection.weight").shape()[0] : 0;
            return new TextConfig(t.path("vocab_size").asInt(49408), t.path("max_position_embeddings").asInt(77),
                    t.path("hidden_size").asInt(512), t.path("num_hidden_layers").asInt(12),
                    t.path("num_attention_heads").asInt(8), t.path("intermediate_size").asInt(2048),
                    Activation.fromHuggingFace(t.path("hidden_act").asText("quick_gelu")),
                    t.path("layer_norm_eps").asDouble(1e-5), true,
                    eos == 2 ? TextConfig.TextPooling.ARGMAX_ID : TextConfig.TextPooling.FIRST_EOS, eos, projection,
                    false, true);
        }

        @Override
        WeightMapping textMapping(Checkpoint c, TextConfig cfg) {
            return huggingFaceTextMapping(cfg);
        }

        @Override
        String logitScaleName() {
            return "logit_scale";
        }

        @Override
        ImagePreprocessor preprocessor(Checkpoint c, VitConfig cfg) {
            JsonNode pre = c.json("preprocessor_config.json");
            if (pre != null) {
                String where = c.dir().resolve("preprocessor_config.json").toString();
                return ImageTransform.fromHuggingFace(pre, where).requireOutputAtLeast(cfg.patchSize(), where);
            }
            return ImageTransform.clip(cfg.imageSize());
        }
    },

    /** OpenAI / open_clip naming ({@code visual.*}, packed {@code in_proj_weight}, {@code x @ proj}). */
    OPEN_CLIP {
        @Override
        boolean matches(Checkpoint c) {
            return c.contains("visual.conv1.weight") && c.contains("visual.class_embedding");
        }

        @Override
        String describe(Checkpoint c) {
            return "OpenAI / open_clip" + (visionCfg(c) == null ? " (architecture inferred from the weights)" : "");
        }

        private JsonNode modelCfg(Checkpoint c) {
            JsonNode cfg = c.config();
            if (cfg != null && cfg.has("vision_cfg")) {
                return cfg;
            }
            JsonNode oc = c.json("open_clip_config.json");
            if (oc != null && oc.path("model_cfg").has("vision_cfg")) {
                return oc.get("model_cfg");
            }
            return null;
        }

        private JsonNode visionCfg(Checkpoint c) {
            JsonNode m = modelCfg(c);
            return m == null ? null : m.get("vision_cfg");
        }

        @Override
        VitConfig config(Checkpoint c) {
            long[] conv = c.info("visual.conv1.weight").shape();
            int layers = countLayers(c.names(), "visual\\.transformer\\.resblocks\\.(\\d+)\\..*");
            JsonNode model = modelCfg(c);
            JsonNode v = visionCfg(c);
            int width = (int) conv[0];
            int patch = (int) conv[3];
            int imageSize;
            int heads;
            int mlp;
            boolean quickGelu;
            if (v != null) {
                width = v.path("width").asInt(width);
                patch = v.path("patch_size").asInt(patch);
                JsonNode is = v.path("image_size");
                if (is.isArray()) {
                    if (is.size() != 2 || is.get(0).asInt() != is.get(1).asInt()) {
                        throw new CheckpointException(c.dir() + ": non-square image_size " + is + " is not supported");
                    }
                    imageSize = is.get(0).asInt();
                } else {
                    imageSize = is.asInt(224);
                }
                layers = v.path("layers").asInt(layers);
                JsonNode hw = v.path("head_width");
                int headWidth = hw.isMissingNode() ? 64 : hw.isIntegralNumber() && hw.canConvertToInt() ? hw.asInt() : 0;
                if (headWidth <= 0 || width <= 0 || width % headWidth != 0) {
                    throw new CheckpointException(c.dir() + ": open_clip vision_cfg.head_width " + hw + " must be a "
                            + "positive integer dividing the width " + width);
                }
                heads = width / headWidth;
                mlp = (int) (width * v.path("mlp_ratio").asDouble(4.0));
                quickGelu = model.path("quick_gelu").asBoolean(false);
            } else {
                long posRows = c.info("visual.positional_embedding").shape()[0];
                int grid = (int) Math.round(Math.sqrt(posRows - 1));
                imageSize = patch * grid;
                if (width % 64 != 0) {
                    throw new CheckpointException(c.dir() + ": no open_clip config (config.json with vision_cfg, "
                            + "or open_clip_config.json) and the head count of a width-" + width + " tower cannot "
                            + "be inferred (OpenAI's convention is width / 64): add the model config");
                }
                heads = width / 64;
                String fc = "visual.transformer.resblocks.0.mlp.c_fc.weight";
                mlp = c.contains(fc) ? (int) c.info(fc).shape()[0] : width * 4;
                quickGelu = true; // OpenAI's released weights use QuickGELU
            }
            int projection = c.contains("visual.proj") ? (int) c.info("visual.proj").shape()[1] : 0;
            return VitConfig.builder()
                    .imageSize(imageSize)
                    .patchSize(patch)
                    .width(width)
                    .depth(layers)
                    .heads(heads)
                    .mlpWidth(mlp)
                    .activation(quickGelu ? Activation.QUICK_GELU : Activation.GELU)
                    .normEps(1e-5)
                    .projectionDim(projection)
                    .build();
        }

        @Override
        WeightMapping mapping(Checkpoint c, VitConfig cfg) {
            WeightMapping m = new WeightMapping()
                    .map("patch_embed.weight", "visual.conv1.weight")
                    .map("cls_token", "visual.class_embedding")
                    .map("pos_embed", "visual.positional_embedding")
                    .map("norm_pre.weight", "visual.ln_pre.weight")
                    .map("norm_pre.bias", "visual.ln_pre.bias")
                    .map("norm.weight", "visual.ln_post.weight")
                    .map("norm.bias", "visual.ln_post.bias")
                    .transposed("proj.weight", "visual.proj")
                    // the text tower and the shared scalars belong to other parts of the model
                    .ignore("token_embedding\\..*").ignore("positional_embedding").ignore("transformer\\..*")
                    .ignore("ln_final\\..*").ignore("text_projection(\\..*)?").ignore("logit_scale")
                    .ignore("logit_bias").ignore("attn_mask").ignore("input_resolution").ignore("context_length")
                    .ignore("vocab_size");
            for (int i = 0; i < cfg.depth(); i++) {
                openClipBlock(m, "visual.transformer.resblocks." + i + ".", "blocks." + i + ".");
            }
            return m;
        }

        @Override
        boolean hasText(Checkpoint c) {
            return c.contains("token_embedding.weight") && c.contains("ln_final.weight");
        }

        @Override
        TextConfig textConfig(Checkpoint c) {
            JsonNode model = modelCfg(c);
            JsonNode t = model == null ? null : model.get("text_cfg");
            long[] tok = c.info("token_embedding.weight").shape();
            int width = (int) c.info("ln_final.weight").shape()[0];
            int layers = countLayers(c.names(), "transformer\\.resblocks\\.(\\d+)\\..*");
            int ctx = (int) c.info("positional_embedding").shape()[0];
            int heads;
            int mlp;
            boolean quickGelu;
            if (t != null) {
                width = t.path("width").asInt(width);
                layers = t.path("layers").asInt(layers);
                ctx = t.path("context_length").asInt(ctx);
                heads = t.path("heads").asInt(width / 64);
                mlp = (int) (width * t.path("mlp_ratio").asDouble(4.0));
                quickGelu = model.path("quick_gelu").asBoolean(false);
            } else {
                if (width % 64 != 0) {
                    throw new CheckpointException(c.dir() + ": no open_clip config and the head count of a width-"
                            + width + " text tower cannot be inferred (width / 64): add the model config");
                }
                heads = width / 64;
                String fc = "transformer.resblocks.0.mlp.c_fc.weight";
                mlp = c.contains(fc) ? (int) c.info(fc).shape()[0] : width * 4;
                quickGelu = true;
            }
            int projection = c.contains("text_projection") ? (int) c.info("text_projection").shape()[1] : 0;
            return new TextConfig((int) tok[0], ctx, width, layers, heads, mlp,
                    quickGelu ? Activation.QUICK_GELU : Activation.GELU, 1e-5, true,
                    TextConfig.TextPooling.ARGMAX_ID, 0, projection, false, true);
        }

        @Override
        WeightMapping textMapping(Checkpoint c, TextConfig cfg) {
            WeightMapping m = new WeightMapping()
                    .map("token_embed.weight", "token_embedding.weight")
                    .map("pos_embed", "positional_embedding")
                    .map("norm.weight", "ln_final.weight")
                    .map("norm.bias", "ln_final.bias")
                    .transposed("proj.weight", "text_projection")
                    .ignore("visual\\..*").ignore("logit_scale").ignore("logit_bias").ignore("attn_mask")
                    .ignore("input_resolution").ignore("context_length").ignore("vocab_size");
            for (int i = 0; i < cfg.depth(); i++) {
                openClipBlock(m, "transformer.resblocks." + i + ".", "blocks." + i + ".");
            }
            return m;
        }

        @Override
        String logitScaleName() {
            return "logit_scale";
        }

        @Override
        ImagePreprocessor preprocessor(Checkpoint c, VitConfig cfg) {
            JsonNode oc = c.json("open_clip_config.json");
            JsonNode pre = oc == null ? null : oc.get("preprocess_cfg");
            float[] mean = ImageTransform.CLIP_MEAN;
            float[] std = ImageTransform.CLIP_STD;
            if (pre != null) {
                mean = triple(pre.get("mean"), mean);
                std = triple(pre.get("std"), std);
                String interp = pre.path("interpolation").asText("bicubic");
                String mode = pre.path("resize_mode").asText("shortest");
                if (!mode.equals("shortest")) {
                    throw new CheckpointException(c.dir() + ": open_clip resize_mode '" + mode
                            + "' is not supported yet (expected 'shortest')");
                }
                ResampleFilter filter = interp.equals("bilinear") ? ResampleFilter.BILINEAR : ResampleFilter.BICUBIC;
                return new ImageTransform(ImageTransform.ResizeMode.SHORTEST_EDGE, cfg.imageSize(), 0, filter,
                        cfg.imageSize(), cfg.imageSize(), ImageTransform.CropOffset.ROUND_HALF_EVEN, 1.0 / 255.0,
                        mean, std);
            }
            return ImageTransform.openClip(cfg.imageSize(), mean, std);
        }

        private float[] triple(JsonNode n, float[] dflt) {
            if (n == null || !n.isArray() || n.size() != 3) {
                return dflt;
            }
            return new float[] {(float) n.get(0).asDouble(), (float) n.get(1).asDouble(), (float) n.get(2).asDouble()};
        }
    };

    static final String HF_PREFIX = "vision_model.";

    /** Hugging Face CLIP vision naming under {@code p} ({@code vision_model.} or empty). */
    static WeightMapping huggingFaceVisionMapping(String p, VitConfig cfg) {
            WeightMapping m = new WeightMapping()
                    .map("patch_embed.weight", p + "embeddings.patch_embedding.weight")
                    .map("cls_token", p + "embeddings.class_embedding")
                    .map("pos_embed", p + "embeddings.position_embedding.weight")
                    .map("norm_pre.weight", p + "pre_layrnorm.weight")
                    .map("norm_pre.bias", p + "pre_layrnorm.bias")
                    .map("norm.weight", p + "post_layernorm.weight")
                    .map("norm.bias", p + "post_layernorm.bias")
                    .map("proj.weight", "visual_projection.weight")
                    .ignore("text_model\\..*").ignore("text_projection\\..*").ignore("logit_scale")
                    .ignore(".*position_ids");
            if (cfg.projectionDim() == 0) {
                m.ignore("visual_projection\\..*");
            }
            for (int i = 0; i < cfg.depth(); i++) {
                m.huggingFaceEncoderLayer("blocks." + i + ".", p + "encoder.layers." + i + ".");
            }
            return m;
        }

    /** Hugging Face CLIP text naming. */
    static WeightMapping huggingFaceTextMapping(TextConfig cfg) {
            String p = "text_model.";
            WeightMapping m = new WeightMapping()
                    .map("token_embed.weight", p + "embeddings.token_embedding.weight")
                    .map("pos_embed", p + "embeddings.position_embedding.weight")
                    .map("norm.weight", p + "final_layer_norm.weight")
                    .map("norm.bias", p + "final_layer_norm.bias")
                    .map("proj.weight", "text_projection.weight")
                    .ignore("vision_model\\..*").ignore("visual_projection\\..*").ignore("logit_scale")
                    .ignore(".*position_ids");
            for (int i = 0; i < cfg.depth(); i++) {
                m.huggingFaceEncoderLayer("blocks." + i + ".", p + "encoder.layers." + i + ".");
            }
            return m;
        }

    /** Number of blocks: one more than the largest index captured by {@code regex}'s first group. */
    static int countLayers(Set<String> names, String regex) {
        Pattern p = Pattern.compile(regex);
        int max = -1;
        for (String n : names) {
            Matcher m = p.matcher(n);
            if (m.matches()) {
                max = Math.max(max, Integer.parseInt(m.group(1)));
            }
        }
        return max + 1;
    }

    /**
     * The tokenizer files shipped with the model, else open_clip's bundled merges when the tower has CLIP's
     * vocabulary of 49408; null when neither fits.
     */
    ClipTokenizer tokenizer(java.nio.file.Path dir, TextConfig cfg) {
        if (ClipTokenizer.hasHuggingFaceFiles(dir)) {
            return ClipTokenizer.fromHuggingFace(dir, cfg.contextLength());
        }
        return cfg.vocabSize() == 49408 ? ClipTokenizer.bundled(cfg.contextLength()) : null;
    }

    /** One OpenAI / open_clip residual block: packed {@code in_proj} split into q, k, v. */
    static void openClipBlock(WeightMapping m, String s, String d) {
        String[] qkv = {"q", "k", "v"};
        for (int j = 0; j < 3; j++) {
            m.rowBlock(d + "attn." + qkv[j] + ".weight", s + "attn.in_proj_weight", j, 3);
            m.rowBlock(d + "attn." + qkv[j] + ".bias", s + "attn.in_proj_bias", j, 3);
        }
        for (String wb : new String[] {"weight", "bias"}) {
            m.map(d + "norm1." + wb, s + "ln_1." + wb)
                    .map(d + "attn.proj." + wb, s + "attn.out_proj." + wb)
                    .map(d + "norm2." + wb, s + "ln_2." + wb)
                    .map(d + "mlp.fc1." + wb, s + "mlp.c_fc." + wb)
                    .map(d + "mlp.fc2." + wb, s + "mlp.c_proj." + wb);
        }
    }

    abstract boolean matches(Checkpoint c);

    abstract String describe(Checkpoint c);

    /** The vision tower's architecture. */
    abstract VitConfig config(Checkpoint c);

    /** Checkpoint names to canonical container names. */
    abstract WeightMapping mapping(Checkpoint c, VitConfig cfg);

    abstract ImagePreprocessor preprocessor(Checkpoint c, VitConfig cfg);

    /** Whether the checkpoint holds the text tower. */
    abstract boolean hasText(Checkpoint c);

    abstract TextConfig textConfig(Checkpoint c);

    abstract WeightMapping textMapping(Checkpoint c, TextConfig cfg);

    /** Name of the log logit scale tensor. */
    abstract String logitScaleName();

    /** The format of {@code c}, or null if it is not a CLIP checkpoint. */
    public static ClipCheckpointFormat detect(Checkpoint c) {
        for (ClipCheckpointFormat f : values()) {
            if (f.matches(c)) {
                return f;
            }
        }
        return null;
    }
}
