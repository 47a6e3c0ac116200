package dev.visiontower.models.clip;

import com.google.auto.service.AutoService;
import dev.visiontower.api.Backend;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightSource;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.spi.ModelFamilyProvider;

import java.util.Optional;

/** The CLIP family: Hugging Face and OpenAI / open_clip checkpoints on the shared container. */
@AutoService(ModelFamilyProvider.class)
public final class ClipFamilyProvider implements ModelFamilyProvider {

    @Override
    public String name() {
        return "clip";
    }

    @Override
    public Optional<String> recognize(Checkpoint checkpoint) {
        ClipCheckpointFormat f = ClipCheckpointFormat.detect(checkpoint);
        return f == null ? Optional.empty() : Optional.of(f.describe(checkpoint));
    }

    private static ClipCheckpointFormat format(Checkpoint c) {
        ClipCheckpointFormat f = ClipCheckpointFormat.detect(c);
        if (f == null) {
            throw new CheckpointException(c.dir() + ": not a CLIP checkpoint (expected vision_model.* with a CLIP "
                    + "config.json, or visual.* in OpenAI / open_clip naming)");
        }
        return f;
    }

    /** The vision architecture a checkpoint declares. */
    public static VitConfig visionConfig(Checkpoint c) {
        return format(c).config(c);
    }

    @Override
    public VisionModel loadVision(Checkpoint checkpoint, Backend backend, LoadOptions options) {
        ClipCheckpointFormat f = format(checkpoint);
        VitConfig cfg = f.config(checkpoint);
        WeightSource weights = f.mapping(checkpoint, cfg).bind(checkpoint, VisionTransformer.parameterShapes(cfg),
                options.strict(), checkpoint.dir().toString());
        return VisionTransformer.load(cfg, weights, backend);
    }

    @Override
    public ImagePreprocessor imagePreprocessor(Checkpoint checkpoint) {
        ClipCheckpointFormat f = format(checkpoint);
        return f.preprocessor(checkpoint, f.config(checkpoint));
    }
}
