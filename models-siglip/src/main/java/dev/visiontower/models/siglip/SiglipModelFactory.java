package dev.visiontower.models.siglip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.TextTransformer;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.train.InitialCheckpoint;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Creates freshly initialised Hugging Face SigLIP checkpoints (training from scratch): seeded random towers in
 * {@code SiglipModel}'s tensor layout, {@code logit_scale = ln 10} and {@code logit_bias = -10} as the SigLIP paper
 * initialises them.
 */
final class SiglipModelFactory {
    static final double LOG_SCALE_INIT = Math.log(10);
    static final double BIAS_INIT = -10;

    private SiglipModelFactory() {
    }

    static void write(Path dir, JsonNode modelConfig, long seed) {
        if (modelConfig == null || !modelConfig.has("vision_config") || !modelConfig.has("text_config")) {
            throw new InvalidInputException("a SigLIP model config needs vision_config and text_config (a Hugging "
                    + "Face SiglipConfig)");
        }
        ObjectNode cfg = modelConfig.deepCopy();
        cfg.put("model_type", "siglip");
        cfg.putArray("architectures").add("SiglipModel");
        try (InitialCheckpoint init = InitialCheckpoint.prepare(dir, cfg,
                "vision_model.embeddings.patch_embedding.weight", "text_model.embeddings.token_embedding.weight")) {
            Map<String, HostTensor> weights = new LinkedHashMap<>();
            try (Checkpoint c = Checkpoint.open(init.scratch())) {
                VitConfig vc = SiglipFamilyProvider.visionConfig(c);
                TextConfig tc = SiglipFamilyProvider.textConfig(c);
                if (tc.projectionDim() != vc.width()) {
                    throw new InvalidInputException("SigLIP compares the pooled image features (vision hidden_size "
                            + vc.width() + ") with the text head's output: set text_config.projection_size to "
                            + vc.width() + " (it is " + tc.projectionDim() + ")");
                }
                Map<String, long[]> vShapes = VisionTransformer.parameterShapes(vc);
                Map<String, long[]> tShapes = TextTransformer.parameterShapes(tc);
                Map<String, HostTensor> vision = RandomWeights.generate(vShapes, seed);
                Map<String, HostTensor> text = RandomWeights.generate(tShapes, seed + 1);
                WeightMapping vm = SiglipFamilyProvider.mapping("vision_model.", vc);
                WeightMapping tm = SiglipFamilyProvider.textMapping(tc);
                Map<String, long[]> sourceShapes = new LinkedHashMap<>();
                vm.rules().values().forEach(r -> sourceShapes.merge(r.source(), sourceShape(r, vShapes),
                        SiglipModelFactory::stack));
                tm.rules().values().forEach(r -> sourceShapes.merge(r.source(), sourceShape(r, tShapes),
                        SiglipModelFactory::stack));
                if (vc.pooling() == dev.visiontower.api.nn.Pooling.MAP) {
                    sourceShapes.put("vision_model.head.probe", new long[] {1, 1, vc.width()}); // Parameter [1, 1, D]
                }
                weights.putAll(vm.export(vision, sourceShapes));
                weights.putAll(tm.export(text, sourceShapes));
                weights.put("logit_scale", HostTensor.ofFloats(new float[] {(float) LOG_SCALE_INIT}, 1));
                weights.put("logit_bias", HostTensor.ofFloats(new float[] {(float) BIAS_INIT}, 1));
            }
            init.write(weights);
        }
    }

    /** The checkpoint shape of one rule's tensor: row blocks (packed q/k/v) are stacked by {@link #stack}. */
    private static long[] sourceShape(WeightMapping.Rule r, Map<String, long[]> canonical) {
        long[] s = canonical.get(r.canonical()).clone();
        if (r.transform() == WeightMapping.Transform.TRANSPOSE) {
            return new long[] {s[1], s[0]};
        }
        return s;
    }

    private static long[] stack(long[] a, long[] b) {
        long[] s = a.clone();
        s[0] += b[0];
        return s;
    }
}
