package dev.visiontower.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.TextTransformer;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.train.CheckpointWriter;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
        Path tmpConfig;
        try {
            Path scratch = Files.createTempDirectory("visiontower-clip-init");
            tmpConfig = scratch;
            Files.write(scratch.resolve("config.json"), new ObjectMapper().writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(cfg));
            // tensor names and shapes come from the same mappings that load checkpoints; write an empty marker
            // checkpoint so the format's readers can resolve the configuration
            Map<String, HostTensor> none = new LinkedHashMap<>();
            none.put("vision_model.embeddings.patch_embedding.weight", HostTensor.ofFloats(new float[1], 1));
            none.put("text_model.embeddings.token_embedding.weight", HostTensor.ofFloats(new float[1], 1));
            dev.visiontower.api.checkpoint.SafetensorsWriter.write(scratch.resolve("model.safetensors"), none, Map.of());
        } catch (java.io.IOException e) {
            throw new InvalidInputException(dir + ": cannot prepare the model: " + e.getMessage(), e);
        }
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        try (Checkpoint c = Checkpoint.open(tmpConfig)) {
            ClipCheckpointFormat f = ClipCheckpointFormat.HUGGING_FACE;
            int projection = cfg.path("projection_dim").asInt(512);
            VitConfig vc = f.config(c).toBuilder().projectionDim(projection).build();
            TextConfig base = f.textConfig(c);
            TextConfig tc = new TextConfig(base.vocabSize(), base.contextLength(), base.width(), base.depth(),
                    base.heads(), base.mlpWidth(), base.activation(), base.normEps(), true, base.pooling(),
                    base.eosTokenId(), projection, false, true);
            Map<String, long[]> vShapes = VisionTransformer.parameterShapes(vc);
            Map<String, long[]> tShapes = TextTransformer.parameterShapes(tc);
            Map<String, HostTensor> vision = new LinkedHashMap<>();
            RandomWeights vr = new RandomWeights(vShapes, seed);
            vShapes.keySet().forEach(n -> vision.put(n, vr.load(n)));
            Map<String, HostTensor> text = new LinkedHashMap<>();
            RandomWeights tr = new RandomWeights(tShapes, seed + 1);
            tShapes.keySet().forEach(n -> text.put(n, tr.load(n)));
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
        try {
            CheckpointWriter.write(dir, tmpConfig, weights, Map.of("config.json",
                    new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(cfg)
                            .getBytes(StandardCharsets.UTF_8)));
            CheckpointWriterHelper.delete(tmpConfig);
        } catch (java.io.IOException e) {
            throw new InvalidInputException(dir + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Removes the scratch directory. */
    static final class CheckpointWriterHelper {
        private CheckpointWriterHelper() {
        }

        static void delete(Path p) throws java.io.IOException {
            try (var s = Files.walk(p)) {
                for (Path x : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(x);
                }
            }
        }
    }
}
