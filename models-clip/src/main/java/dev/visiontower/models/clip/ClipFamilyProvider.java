package dev.visiontower.models.clip;

import com.google.auto.service.AutoService;
import dev.visiontower.api.Backend;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightSource;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.nn.ContrastiveHead;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.TextModel;
import dev.visiontower.api.nn.TextTransformer;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.text.Tokenizer;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.train.TrainableDualEncoder;
import java.util.Map;
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
    public Optional<TextModel> loadText(Checkpoint checkpoint, Backend backend, LoadOptions options) {
        ClipCheckpointFormat f = format(checkpoint);
        if (!f.hasText(checkpoint)) {
            return Optional.empty();
        }
        TextConfig cfg = f.textConfig(checkpoint);
        WeightSource weights = f.textMapping(checkpoint, cfg).bind(checkpoint, TextTransformer.parameterShapes(cfg),
                options.strict(), checkpoint.dir().toString());
        return Optional.of(TextTransformer.load(cfg, weights, backend));
    }

    @Override
    public Optional<Tokenizer> tokenizer(Checkpoint checkpoint) {
        ClipCheckpointFormat f = format(checkpoint);
        if (!f.hasText(checkpoint)) {
            return Optional.empty();
        }
        return Optional.ofNullable(f.tokenizer(checkpoint, f.textConfig(checkpoint).contextLength()));
    }

    @Override
    public Optional<TrainableDualEncoder> loadForTraining(Checkpoint c, Backend backend) {
        ClipCheckpointFormat f = format(c);
        if (!f.hasText(c) || !c.contains(f.logitScaleName())) {
            return Optional.empty();
        }
        VitConfig vc = f.config(c);
        WeightMapping vm = f.mapping(c, vc);
        TextConfig tc = f.textConfig(c);
        WeightMapping tm = f.textMapping(c, tc);
        String where = c.dir().toString();
        VisionTransformer vision = VisionTransformer.load(vc, vm.bind(c, VisionTransformer.parameterShapes(vc), true,
                where), backend);
        TextTransformer text = null;
        try {
            text = TextTransformer.load(tc, tm.bind(c, TextTransformer.parameterShapes(tc), true, where), backend);
            ContrastiveHead head = loadHead(c, backend).orElseThrow();
            return Optional.of(new TrainableDualEncoder(vision, vm, text, tm, head,
                    Map.of("logit_scale", f.logitScaleName()), c));
        } catch (RuntimeException e) {
            vision.close();
            if (text != null) {
                text.close();
            }
            throw e;
        }
    }

    /**
     * A new Hugging Face {@code CLIPModel} checkpoint: {@code modelConfig} is a CLIPConfig ({@code vision_config},
     * {@code text_config}, {@code projection_dim}, optional {@code logit_scale_init_value}); weights normal with
     * standard deviation 0.02, norms 1, biases 0, logit scale {@code ln(1/0.07)} unless configured.
     */
    @Override
    public void writeInitialCheckpoint(java.nio.file.Path dir, com.fasterxml.jackson.databind.JsonNode modelConfig,
                                       long seed) {
        ClipModelFactory.write(dir, modelConfig, seed);
    }

    /** open_clip's tokenizer with the bundled merges, context length 77. */
    @Override
    public Optional<Tokenizer> defaultTokenizer() {
        return Optional.of(ClipTokenizer.bundled(77));
    }

    @Override
    public Optional<ContrastiveHead> loadHead(Checkpoint checkpoint, Backend backend) {
        ClipCheckpointFormat f = format(checkpoint);
        String name = f.logitScaleName();
        if (!checkpoint.contains(name)) {
            return Optional.empty();
        }
        HostTensor scale = checkpoint.read(name).reshape();
        return Optional.of(new ClipHead(backend, backend.parameter("logit_scale", scale)));
    }

    @Override
    public ImagePreprocessor imagePreprocessor(Checkpoint checkpoint) {
        ClipCheckpointFormat f = format(checkpoint);
        return f.preprocessor(checkpoint, f.config(checkpoint));
    }
}
