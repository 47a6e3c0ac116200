package dev.visiontower.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.TextTransformer;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.train.InitialCheckpoint;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Creates freshly initialised Hugging Face CLIP checkpoints (training from scratch). */
final class ClipModelFactory {
    private ClipModelFactory() {
    }

    static void write(Path dir, JsonNode modelConfig, long seed) {
        if (modelConfig == null || !modelConfig.has("vision_config") || !modelConfig.has("text_config")) {
            throw new InvalidInputException("a CLIP model config needs vision_config and text_config (a Hugging Face "
                    + "CLIPConfig)");
        }
        ObjectNode cfg = modelConfig.deepCopy();
        cfg.put("model_type", "clip");
        cfg.putArray("architectures").add("CLIPModel");
        try (InitialCheckpoint init = InitialCheckpoint.prepare(dir, cfg,
                "vision_model.embeddings.patch_embedding.weight", "text_model.embeddings.token_embedding.weight")) {
            Map<String, HostTensor> weights = new LinkedHashMap<>();
            try (Checkpoint c = Checkpoint.open(init.scratch())) {
                ClipCheckpointFormat f = ClipCheckpointFormat.HUGGING_FACE;
                int projection = cfg.path("projection_dim").asInt(512);
                VitConfig vc = f.config(c).toBuilder().projectionDim(projection).build();
                TextConfig base = f.textConfig(c);
                TextConfig tc = new TextConfig(base.vocabSize(), base.contextLength(), base.width(), base.depth(),
                        base.heads(), base.mlpWidth(), base.activation(), base.normEps(), true, base.pooling(),
                        base.eosTokenId(), projection, false, true);
                Map<String, long[]> vShapes = VisionTransformer.parameterShapes(vc);
                Map<String, long[]> tShapes = TextTransformer.parameterShapes(tc);
                Map<String, HostTensor> vision = RandomWeights.generate(vShapes, seed);
                Map<String, HostTensor> text = RandomWeights.generate(tShapes, seed + 1);
                Map<String, long[]> sourceShapes = new LinkedHashMap<>();
                var vm = ClipCheckpointFormat.huggingFaceVisionMapping(ClipCheckpointFormat.HF_PREFIX, vc);
                var tm = ClipCheckpointFormat.huggingFaceTextMapping(tc);
                vm.rules().values().forEach(r -> sourceShapes.put(r.source(), vShapes.get(r.canonical())));
                tm.rules().values().forEach(r -> sourceShapes.put(r.source(), tShapes.get(r.canonical())));
                weights.putAll(vm.export(vision, sourceShapes));
                weights.putAll(tm.export(text, sourceShapes));
                weights.put("logit_scale", HostTensor.ofFloats(new float[] {
                    (float) cfg.path("logit_scale_init_value").asDouble(Math.log(1 / 0.07))}));
            }
            init.write(weights);
        }
    }
}
